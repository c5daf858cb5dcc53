// The part of npm `sm-crypto` (0.5.x, no bundled types) that the tests and the benchmark use.
// A string message is taken as UTF-8 text; pass bytes as an array.
declare module 'sm-crypto' {
  interface SignatureOptions {
    der?: boolean;
    hash?: boolean;
    publicKey?: string;
    userId?: string;
  }
  export const sm2: {
    generateKeyPairHex(): { privateKey: string; publicKey: string };
    doSignature(
      message: string | number[],
      privateKeyHex: string,
      options?: SignatureOptions,
    ): string;
    doVerifySignature(
      message: string | number[],
      signatureHex: string,
      publicKeyHex: string,
      options?: SignatureOptions,
    ): boolean;
  };
}

//! The co-signing round's bytes encrypted end to end between the wasm module and the server
//! (`docs/split-key.md`, "Encrypted round").
//!
//! A transcript of a round in clear (Q1, the PIN proof T, z and the partials r, s2, s3) together
//! with a copy of the phone's storage tests a candidate PIN offline. So the phone encrypts its
//! round to the server's published transport key and the server encrypts its partials back: a
//! proxy that logs request bodies sees random-looking bytes.
//!
//! - The phone draws an ephemeral scalar a (label `mcert/transport`), A = [a]G; both sides get
//!   (x, y) = [a]S = [s]A for the server's transport key S = [s]G.
//! - Per direction, `KDF(x ‖ y ‖ "mcert/transport/v1" ‖ A ‖ S ‖ u8(len(sid)) ‖ sid ‖ label, 28)`
//!   with the SM3 KDF of GB/T 32918.4 gives an SM4 key (16) and a GCM nonce (12); labels are
//!   `request` and `response`, so the two directions never share a key. Each key encrypts one
//!   message only: A is fresh per round and the server issues partials once per session.
//! - SM4-GCM (GB/T 32907 block cipher, NIST SP 800-38D mode, 128-bit tag) with AAD
//!   `"mcert/transport/v1" ‖ u8(version) ‖ label ‖ u8(len(sid)) ‖ sid`.
//!
//! SM4 and GHASH are written here rather than taken from crates to keep the wasm module within
//! its size budget; the tests check them against the standards' vectors and the RustCrypto
//! `sm4` + `aes-gcm` crates the server seals keys with.

use crate::SignerError;
use crate::cosign::{
    ClientRound, MAX_SESSION_ID_LEN, MIN_SESSION_ID_LEN, PARTIALS_LEN, ROUND_LEN, ServerPartials,
};
use crate::scalar::{
    Entropy, POINT_LEN, SCALAR_LEN, SecretScalar, encode_point, exact, length_within, mul_base,
    parse_nonzero_scalar, parse_uncompressed_point, take,
};
use core::fmt;
use sm2::PublicKey;
use sm2::elliptic_curve::PrimeField;
use sm3::{Digest, Sm3};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Version of the co-signing round's wire format: the first byte of a sealed round, and bound
/// into every AAD. Version 1 was the round in clear (`{q1, proof}` over HTTP).
pub const ROUND_VERSION: u8 = 2;
/// Length of a GCM tag.
pub const TAG_LEN: usize = 16;
/// Length of a sealed round: `version (1) ‖ A (65) ‖ SM4-GCM(Q1 ‖ proof) (162) ‖ tag (16)`.
pub const SEALED_ROUND_LEN: usize = 1 + POINT_LEN + ROUND_LEN + TAG_LEN;
/// Length of sealed partials: `SM4-GCM(r ‖ s2 ‖ s3) (96) ‖ tag (16)`.
pub const SEALED_PARTIALS_LEN: usize = PARTIALS_LEN + TAG_LEN;

const DOMAIN: &[u8] = b"mcert/transport/v1";
const LABEL_EPHEMERAL: &[u8] = b"mcert/transport";
const LABEL_REQUEST: &[u8] = b"request";
const LABEL_RESPONSE: &[u8] = b"response";
const LABEL_TRANSPORT_KEY: &[u8] = b"mcert/transport-key";

/// The keys of one round, both directions, bound to its session. Not `Clone`; wiped on drop.
pub struct Channel {
    request: DirectionKey,
    response: DirectionKey,
    session_id: Vec<u8>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Channel([redacted])")
    }
}

struct DirectionKey {
    round_keys: Zeroizing<[u32; 32]>,
    nonce: [u8; 12],
}

impl Channel {
    fn derive(
        shared: &PublicKey,
        ephemeral: &PublicKey,
        server: &PublicKey,
        session_id: &[u8],
    ) -> Result<Self, SignerError> {
        length_within(session_id, MIN_SESSION_ID_LEN, MAX_SESSION_ID_LEN)?;
        let shared = Zeroizing::new(encode_point(shared));
        let direction = |label: &[u8]| {
            let mut block: Zeroizing<[u8; 32]> = Zeroizing::new(
                Sm3::new()
                    .chain_update(&shared[1..])
                    .chain_update(DOMAIN)
                    .chain_update(encode_point(ephemeral))
                    .chain_update(encode_point(server))
                    .chain_update([session_len(session_id)])
                    .chain_update(session_id)
                    .chain_update(label)
                    .chain_update(1u32.to_be_bytes())
                    .finalize()
                    .into(),
            );
            let mut key = [0u8; 16];
            let mut nonce = [0u8; 12];
            key.copy_from_slice(&block[..16]);
            nonce.copy_from_slice(&block[16..28]);
            let round_keys = Zeroizing::new(sm4_round_keys(&key));
            key.zeroize();
            block.zeroize();
            DirectionKey { round_keys, nonce }
        };
        Ok(Self {
            request: direction(LABEL_REQUEST),
            response: direction(LABEL_RESPONSE),
            session_id: session_id.to_vec(),
        })
    }

    fn aad(&self, label: &[u8]) -> Vec<u8> {
        [
            DOMAIN,
            &[ROUND_VERSION],
            label,
            &[session_len(&self.session_id)],
            &self.session_id,
        ]
        .concat()
    }

    /// The phone's side: a fresh ephemeral key from `entropy` agreed with the server's
    /// transport key `server`; returns the channel and A.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] for entropy outside 32 to 256 bytes or a session id
    /// outside 1 to 64 bytes; [`SignerError::InvalidScalar`] in the 2^-256 case a = 0.
    pub fn client(
        server: &PublicKey,
        session_id: &[u8],
        entropy: &[u8],
    ) -> Result<(Self, PublicKey), SignerError> {
        let a = Entropy::new(entropy)?.scalar(LABEL_EPHEMERAL)?;
        let ephemeral = mul_base(&a)?;
        let shared = crate::scalar::public_key(server.to_projective() * *a.expose())?;
        Ok((
            Self::derive(&shared, &ephemeral, server, session_id)?,
            ephemeral,
        ))
    }

    /// The phone's round, sealed: `version ‖ A ‖ ciphertext ‖ tag` ([`SEALED_ROUND_LEN`]).
    pub fn seal_round(&self, ephemeral: &PublicKey, round: &ClientRound) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEALED_ROUND_LEN);
        out.push(ROUND_VERSION);
        out.extend_from_slice(&encode_point(ephemeral));
        let mut body = Zeroizing::new(round.to_bytes());
        let tag = gcm(&self.request, &self.aad(LABEL_REQUEST), &mut body);
        out.extend_from_slice(&body);
        out.extend_from_slice(&tag);
        out
    }

    /// The server's partials, sealed for the phone: `ciphertext ‖ tag` ([`SEALED_PARTIALS_LEN`]).
    pub fn seal_partials(&self, partials: &ServerPartials) -> Vec<u8> {
        let mut out = partials.to_bytes().to_vec();
        let tag = gcm(&self.response, &self.aad(LABEL_RESPONSE), &mut out);
        out.extend_from_slice(&tag);
        out
    }

    /// Opens the server's sealed partials.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] unless 112 bytes; [`SignerError::TransportRejected`] if
    /// the tag does not verify (altered, or sealed for another round or session); then as
    /// [`ServerPartials::from_bytes`].
    pub fn open_partials(&self, sealed: &[u8]) -> Result<ServerPartials, SignerError> {
        let sealed: &[u8; SEALED_PARTIALS_LEN] = exact(sealed)?;
        let (body, tag) = take::<PARTIALS_LEN>(sealed)?;
        let mut body = Zeroizing::new(*body);
        open(
            &self.response,
            &self.aad(LABEL_RESPONSE),
            &mut body[..],
            tag,
        )?;
        ServerPartials::from_bytes(&body[..])
    }
}

/// The server's long-term transport key s, whose public key S = [s]G the SDK pins. Not
/// `Clone`; redacted in `Debug`; wiped on drop.
pub struct TransportSecret {
    s: SecretScalar,
    public: PublicKey,
}

impl fmt::Debug for TransportSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransportSecret([redacted])")
    }
}

impl TransportSecret {
    /// A new key s = scalar(`mcert/transport-key`) from server entropy (32 to 256 bytes).
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] for entropy of another length;
    /// [`SignerError::InvalidScalar`] if it expands to zero (probability 2^-256).
    pub fn generate(entropy: &[u8]) -> Result<Self, SignerError> {
        Self::new(Entropy::new(entropy)?.scalar(LABEL_TRANSPORT_KEY)?)
    }

    /// Restores the key from its 32 big-endian bytes (as unsealed from storage).
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidScalar`] if the value is zero or not below n.
    pub fn from_bytes(bytes: &[u8; SCALAR_LEN]) -> Result<Self, SignerError> {
        Self::new(SecretScalar::new(parse_nonzero_scalar(bytes)?)?)
    }

    fn new(s: SecretScalar) -> Result<Self, SignerError> {
        let public = mul_base(&s)?;
        Ok(Self { s, public })
    }

    /// The secret s as 32 big-endian bytes, to be sealed for storage; wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
        Zeroizing::new(self.s.expose().to_repr().into())
    }

    /// The published key S = [s]G.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Opens a sealed round for session `session_id`; returns the round and the channel to seal
    /// the answer with.
    ///
    /// # Errors
    ///
    /// [`SignerError::UnsupportedRoundVersion`] if the first byte is not [`ROUND_VERSION`];
    /// [`SignerError::InvalidLength`] for another length or session id; [`SignerError::InvalidPoint`]
    /// for a bad A; [`SignerError::TransportRejected`] if the tag does not verify (altered,
    /// sealed to another key or for another session); then as [`ClientRound::from_bytes`].
    pub fn open_round(
        &self,
        session_id: &[u8],
        sealed: &[u8],
    ) -> Result<(ClientRound, Channel), SignerError> {
        if let Some(&version) = sealed.first()
            && version != ROUND_VERSION
        {
            return Err(SignerError::UnsupportedRoundVersion { version });
        }
        let sealed: &[u8; SEALED_ROUND_LEN] = exact(sealed)?;
        let (_, rest) = take::<1>(sealed)?;
        let (ephemeral, rest) = take::<POINT_LEN>(rest)?;
        let (body, tag) = take::<ROUND_LEN>(rest)?;
        let ephemeral = parse_uncompressed_point(ephemeral)?;
        let shared = crate::scalar::public_key(ephemeral.to_projective() * *self.s.expose())?;
        let channel = Channel::derive(&shared, &ephemeral, &self.public, session_id)?;
        let mut body = Zeroizing::new(*body);
        open(
            &channel.request,
            &channel.aad(LABEL_REQUEST),
            &mut body[..],
            tag,
        )?;
        Ok((ClientRound::from_bytes(&body[..])?, channel))
    }
}

fn session_len(session_id: &[u8]) -> u8 {
    // Session ids are checked to be at most 64 bytes before a channel exists.
    u8::try_from(session_id.len()).unwrap_or(u8::MAX)
}

fn open(key: &DirectionKey, aad: &[u8], body: &mut [u8], tag: &[u8]) -> Result<(), SignerError> {
    let expected = ghash_tag(key, aad, body);
    if !bool::from(expected.ct_eq(tag)) {
        return Err(SignerError::TransportRejected);
    }
    ctr(key, body);
    Ok(())
}

/// Encrypts `body` in place and returns the tag.
fn gcm(key: &DirectionKey, aad: &[u8], body: &mut [u8]) -> [u8; TAG_LEN] {
    ctr(key, body);
    ghash_tag(key, aad, body)
}

fn counter_block(nonce: &[u8; 12], counter: u32) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..12].copy_from_slice(nonce);
    block[12..].copy_from_slice(&counter.to_be_bytes());
    block
}

/// CTR from inc32(J0), J0 = nonce ‖ 0^31 ‖ 1.
fn ctr(key: &DirectionKey, body: &mut [u8]) {
    for (chunk, counter) in body.chunks_mut(16).zip(2u32..) {
        let stream = sm4_encrypt(&key.round_keys, &counter_block(&key.nonce, counter));
        for (byte, pad) in chunk.iter_mut().zip(stream) {
            *byte ^= pad;
        }
    }
}

/// E(J0) ⊕ GHASH_H(A, C) with H = E(0^128).
fn ghash_tag(key: &DirectionKey, aad: &[u8], ciphertext: &[u8]) -> [u8; TAG_LEN] {
    let h = u128::from_be_bytes(sm4_encrypt(&key.round_keys, &[0u8; 16]));
    let mut y = 0u128;
    for data in [aad, ciphertext] {
        for chunk in data.chunks(16) {
            let mut block = [0u8; 16];
            block[..chunk.len()].copy_from_slice(chunk);
            y = gf_mul(y ^ u128::from_be_bytes(block), h);
        }
    }
    let lengths = ((aad.len() as u128 * 8) << 64) | (ciphertext.len() as u128 * 8);
    y = gf_mul(y ^ lengths, h);
    let j0 = u128::from_be_bytes(sm4_encrypt(&key.round_keys, &counter_block(&key.nonce, 1)));
    (y ^ j0).to_be_bytes()
}

/// Multiplication in GF(2^128) with GCM's bit order, without secret-dependent branches.
fn gf_mul(x: u128, h: u128) -> u128 {
    let mut z = 0u128;
    let mut v = h;
    for i in (0..128).rev() {
        z ^= v & ((x >> i) & 1).wrapping_neg();
        v = (v >> 1) ^ ((0xe1u128 << 120) & (v & 1).wrapping_neg());
    }
    z
}

const SBOX: [u8; 256] = [
    0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05,
    0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99,
    0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62,
    0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6,
    0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8,
    0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b, 0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35,
    0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2, 0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87,
    0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52, 0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e,
    0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5, 0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1,
    0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55, 0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3,
    0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60, 0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f,
    0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51,
    0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8,
    0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0,
    0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
    0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
];

const FK: [u32; 4] = [0xa3b1_bac6, 0x56aa_3350, 0x677d_9197, 0xb270_22dc];

fn words(bytes: &[u8; 16]) -> [u32; 4] {
    let mut words = [0u32; 4];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        for byte in chunk {
            *word = (*word << 8) | u32::from(*byte);
        }
    }
    words
}

/// One round of SM4, `x ↦ (x1, x2, x3, x0 ⊕ L(τ(x1 ⊕ x2 ⊕ x3 ⊕ k)))`, with the key schedule's
/// linear map L' when `key_schedule`.
fn sm4_round(x: &mut [u32; 4], k: u32, key_schedule: bool) -> u32 {
    let mut t = 0u32;
    for byte in (x[1] ^ x[2] ^ x[3] ^ k).to_be_bytes() {
        t = (t << 8) | u32::from(SBOX[usize::from(byte)]);
    }
    let l = if key_schedule {
        t.rotate_left(13) ^ t.rotate_left(23)
    } else {
        t.rotate_left(2) ^ t.rotate_left(10) ^ t.rotate_left(18) ^ t.rotate_left(24)
    };
    let next = x[0] ^ t ^ l;
    *x = [x[1], x[2], x[3], next];
    next
}

/// The 32 round keys; CK_i's bytes are (4i + j)·7 mod 256.
fn sm4_round_keys(key: &[u8; 16]) -> [u32; 32] {
    let mut k = words(key);
    for (word, fk) in k.iter_mut().zip(FK) {
        *word ^= fk;
    }
    let mut round_keys = [0u32; 32];
    for (i, rk) in (0u32..).zip(round_keys.iter_mut()) {
        let mut ck = 0u32;
        for j in 0..4 {
            ck = (ck << 8) | (((4 * i + j) * 7) & 0xff);
        }
        *rk = sm4_round(&mut k, ck, true);
    }
    k.zeroize();
    round_keys
}

fn sm4_encrypt(round_keys: &[u32; 32], block: &[u8; 16]) -> [u8; 16] {
    let mut x = words(block);
    for rk in round_keys {
        sm4_round(&mut x, *rk, false);
    }
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_exact_mut(4).zip(x.iter().rev()) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    x.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosign;
    use crate::share::generate_with_iterations;
    use aes_gcm::aead::{Aead, KeyInit, Payload};

    type CrateSm4Gcm = aes_gcm::AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

    fn direction_key(key: [u8; 16], nonce: [u8; 12]) -> DirectionKey {
        DirectionKey {
            round_keys: Zeroizing::new(sm4_round_keys(&key)),
            nonce,
        }
    }

    /// GB/T 32907-2016, Appendix A, example 1: key = plaintext = 0123456789abcdeffedcba9876543210.
    #[test]
    fn sm4_standard_vector() {
        let key: [u8; 16] = hex::decode("0123456789abcdeffedcba9876543210")
            .unwrap()
            .try_into()
            .unwrap();
        let out = sm4_encrypt(&sm4_round_keys(&key), &key);
        assert_eq!(hex::encode(out), "681edf34d206965e86b3e94f536e4246");
    }

    /// RFC 8998, Appendix A.1 (SM4-GCM).
    #[test]
    fn sm4_gcm_rfc_8998_vector() {
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let nonce = hex::decode("00001234567800000000ABCD").unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let plaintext = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        let key = direction_key(key.try_into().unwrap(), nonce.try_into().unwrap());
        let mut body = plaintext.clone();
        let tag = gcm(&key, &aad, &mut body);
        assert_eq!(
            hex::encode_upper(&body),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        );
        assert_eq!(hex::encode_upper(tag), "83DE3541E4C2B58177E065A9BF7B62EC");
        open(&key, &aad, &mut body, &tag).unwrap();
        assert_eq!(body, plaintext);
    }

    proptest::proptest! {
        #[test]
        fn sm4_gcm_matches_the_rustcrypto_crates(
            key in proptest::array::uniform16(0u8..),
            nonce in proptest::array::uniform12(0u8..),
            aad in proptest::collection::vec(0u8.., 0..80),
            plaintext in proptest::collection::vec(0u8.., 0..200),
        ) {
            let expected = CrateSm4Gcm::new((&key).into())
                .encrypt((&nonce).into(), Payload { msg: &plaintext, aad: &aad })
                .unwrap();
            let mut body = plaintext.clone();
            let tag = gcm(&direction_key(key, nonce), &aad, &mut body);
            proptest::prop_assert_eq!([body, tag.to_vec()].concat(), expected);
        }
    }

    struct Round {
        server: TransportSecret,
        round: ClientRound,
        channel: Channel,
        sealed: Vec<u8>,
    }

    fn sealed_round(session_id: &[u8]) -> Round {
        let (share, _) = generate_with_iterations(&[1; 32], b"123456", 1).unwrap();
        let (_, round) = cosign::begin(&share, b"123456", session_id, b"m", &[2; 32]).unwrap();
        let server = TransportSecret::generate(&[3; 32]).unwrap();
        let (channel, ephemeral) =
            Channel::client(server.public_key(), session_id, &[4; 32]).unwrap();
        let sealed = channel.seal_round(&ephemeral, &round);
        Round {
            server,
            round,
            channel,
            sealed,
        }
    }

    fn partials() -> ServerPartials {
        ServerPartials::from_bytes(&[[1u8; 32], [2; 32], [3; 32]].concat()).unwrap()
    }

    #[test]
    fn a_round_and_its_answer_cross_only_in_ciphertext() {
        let Round {
            server,
            round,
            channel,
            sealed,
        } = sealed_round(b"session-1");
        assert_eq!(sealed.len(), SEALED_ROUND_LEN);
        assert_eq!(sealed[0], ROUND_VERSION);
        let clear = round.to_bytes();
        // Neither Q1, T nor z appears in the sealed bytes.
        for part in [&clear[..65], &clear[65..130], &clear[130..]] {
            assert!(!sealed.windows(part.len()).any(|w| w == part));
        }
        let (opened, server_channel) = server.open_round(b"session-1", &sealed).unwrap();
        assert_eq!(opened, round);

        let answer = server_channel.seal_partials(&partials());
        assert_eq!(answer.len(), SEALED_PARTIALS_LEN);
        assert!(
            !answer
                .windows(32)
                .any(|w| w == [1u8; 32] || w == [2; 32] || w == [3; 32])
        );
        assert_eq!(channel.open_partials(&answer).unwrap(), partials());
    }

    #[test]
    fn tampered_replayed_or_misaddressed_rounds_do_not_open() {
        let Round {
            server,
            channel,
            sealed,
            ..
        } = sealed_round(b"session-1");
        for index in [1, 70, SEALED_ROUND_LEN - 1] {
            let mut tampered = sealed.clone();
            tampered[index] ^= 1;
            let refused = server.open_round(b"session-1", &tampered).unwrap_err();
            // Flipping a bit of A may leave the curve instead.
            assert!(
                matches!(
                    refused,
                    SignerError::TransportRejected | SignerError::InvalidPoint
                ),
                "{refused}"
            );
        }
        assert_eq!(
            server.open_round(b"session-2", &sealed).unwrap_err(),
            SignerError::TransportRejected
        );
        let other = TransportSecret::generate(&[9; 32]).unwrap();
        assert_eq!(
            other.open_round(b"session-1", &sealed).unwrap_err(),
            SignerError::TransportRejected
        );
        let mut old = sealed.clone();
        old[0] = 1;
        assert_eq!(
            server.open_round(b"session-1", &old).unwrap_err(),
            SignerError::UnsupportedRoundVersion { version: 1 }
        );
        assert_eq!(
            server.open_round(b"session-1", &sealed[..200]).unwrap_err(),
            SignerError::InvalidLength {
                expected: SEALED_ROUND_LEN,
                actual: 200
            }
        );

        // The answer opens only for its own round: not for another round of the same session,
        // and not when altered.
        let (_, server_channel) = server.open_round(b"session-1", &sealed).unwrap();
        let mut answer = server_channel.seal_partials(&partials());
        let other_round = sealed_round(b"session-1");
        let (other_channel, _) =
            Channel::client(other_round.server.public_key(), b"session-1", &[5; 32]).unwrap();
        assert_eq!(
            other_channel.open_partials(&answer).unwrap_err(),
            SignerError::TransportRejected
        );
        answer[0] ^= 1;
        assert_eq!(
            channel.open_partials(&answer).unwrap_err(),
            SignerError::TransportRejected
        );
    }

    #[test]
    fn request_and_response_keys_differ() {
        let round = sealed_round(b"session-1");
        assert_ne!(
            *round.channel.request.round_keys,
            *round.channel.response.round_keys
        );
        assert_ne!(round.channel.request.nonce, round.channel.response.nonce);
    }

    #[test]
    fn transport_secret_encoding_and_redaction() {
        let secret = TransportSecret::generate(&[3; 32]).unwrap();
        let restored = TransportSecret::from_bytes(&secret.to_bytes()).unwrap();
        assert_eq!(restored.public_key(), secret.public_key());
        assert_eq!(
            TransportSecret::from_bytes(&[0; 32]).unwrap_err(),
            SignerError::InvalidScalar
        );
        assert_eq!(format!("{secret:?}"), "TransportSecret([redacted])");
        assert_eq!(
            format!("{:?}", sealed_round(b"s").channel),
            "Channel([redacted])"
        );
    }
}

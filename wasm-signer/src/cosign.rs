//! Co-signing one message with the phone's share d1 and the server's share d2
//! (DESIGN.md §5; bytes in `docs/split-key.md`, "Co-signing one message M").
//!
//! The full key d = (d1·d2)⁻¹ − 1 never exists. The phone [`begin`]s a round: it unmasks d1'
//! with the PIN, commits to a nonce share Q1 = [k1]G and proves knowledge of u = d1'⁻¹ for P1
//! (a Schnorr proof bound to the session and the message). The server checks the proof with
//! [`verify_pin_proof`] (a failure is a wrong PIN) and answers with [`ServerShare::partials`];
//! the phone [`ClientSigning::finish`]es with a plain SM2 signature under the joint key
//! P = [(d1·d2)⁻¹ − 1]G.

use crate::fixed_base::mul_generator;
use crate::scalar::{
    Entropy, POINT_LEN, SCALAR_LEN, SecretScalar, encode_point, exact, length_within, mul_base,
    parse_nonzero_scalar, parse_scalar, parse_uncompressed_point, points_equal, public_key,
    reduce_256, take, x_mod_n,
};
use crate::share::{MaskedShare, Pin};
use crate::{SignerError, signature_to_der, sm3_digest, verify};
use core::fmt;
use sm2::elliptic_curve::PrimeField;
use sm2::{ProjectivePoint, PublicKey, Scalar};
use sm3::{Digest, Sm3};
use zeroize::Zeroizing;

/// Length of an encoded [`PinProof`]: `T (65) ‖ z (32)`.
pub const PROOF_LEN: usize = POINT_LEN + SCALAR_LEN;
/// Length of an encoded [`ClientRound`]: `Q1 (65) ‖ proof (97)`.
pub const ROUND_LEN: usize = POINT_LEN + PROOF_LEN;
/// Length of encoded [`ServerPartials`]: `r ‖ s2 ‖ s3`.
pub const PARTIALS_LEN: usize = 3 * SCALAR_LEN;
/// Shortest session id a PIN proof binds, in bytes.
pub const MIN_SESSION_ID_LEN: usize = 1;
/// Longest session id a PIN proof binds, in bytes (its length is hashed as one byte).
pub const MAX_SESSION_ID_LEN: usize = 64;

const LABEL_K1: &[u8] = b"mcert/k1";
const LABEL_T: &[u8] = b"mcert/t";
const LABEL_D2: &[u8] = b"mcert/d2";
const LABEL_K2: &[u8] = b"mcert/k2";
const LABEL_K3: &[u8] = b"mcert/k3";
const PROOF_DOMAIN: &[u8] = b"mcert/pin-proof/v1";

/// Nonce attempts the server makes before giving up; each fails with probability about 2^-255.
const SERVER_ATTEMPTS: u8 = 8;

/// The phone's proof that it knows u = d1⁻¹ for P1 = [u]G: `T ‖ z` with T = [t]G and
/// z = t + c·u mod n, c the challenge over T, P1', Q1, the session id and SM3(M).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinProof {
    t: PublicKey,
    z: Scalar,
}

impl PinProof {
    /// Parses `T (65, uncompressed) ‖ z (32)`.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] unless 97 bytes; [`SignerError::InvalidPoint`] if T is not
    /// an uncompressed point on the curve (or is the identity); [`SignerError::InvalidScalar`] if
    /// z is not below n (z = 0 is a possible, if unlikely, response and is accepted).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignerError> {
        let bytes: &[u8; PROOF_LEN] = exact(bytes)?;
        let (t, z) = take::<POINT_LEN>(bytes)?;
        Ok(Self {
            t: parse_uncompressed_point(t)?,
            z: parse_scalar(exact(z)?)?,
        })
    }

    /// `T ‖ z`, 97 bytes.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        let (t, z) = out.split_at_mut(POINT_LEN);
        t.copy_from_slice(&encode_point(&self.t));
        z.copy_from_slice(&self.z.to_repr());
        out
    }
}

/// What the phone sends to start the server's half: its nonce commitment Q1 and the PIN proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRound {
    /// Q1 = [k1]G.
    pub q1: PublicKey,
    /// Proof of knowledge of d1⁻¹, bound to this round.
    pub proof: PinProof,
}

impl ClientRound {
    /// `Q1 (65) ‖ proof (97)`, 162 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ROUND_LEN);
        out.extend_from_slice(&encode_point(&self.q1));
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Parses `Q1 (65, uncompressed) ‖ proof (97)`.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] unless 162 bytes, then as [`PinProof::from_bytes`], with
    /// [`SignerError::InvalidPoint`] for a bad Q1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignerError> {
        let bytes: &[u8; ROUND_LEN] = exact(bytes)?;
        let (q1, proof) = take::<POINT_LEN>(bytes)?;
        Ok(Self {
            q1: parse_uncompressed_point(q1)?,
            proof: PinProof::from_bytes(proof)?,
        })
    }
}

/// The phone's state between [`begin`] and [`ClientSigning::finish`]: the unmasked share d1',
/// the nonce share k1 and the message. Not `Clone`; wiped on drop; `finish` consumes it, so a
/// nonce is used for one signature at most.
pub struct ClientSigning {
    d1: SecretScalar,
    k1: SecretScalar,
    message: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for ClientSigning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSigning([redacted])")
    }
}

/// Starts co-signing `message` in session `session_id`: unmasks d1' with `pin`, derives k1 and
/// the proof nonce t from `entropy`, and returns the pending state with the round to send.
///
/// A wrong PIN is not an error here (the share has no check value): it yields a proof the
/// server rejects with [`SignerError::ProofRejected`].
///
/// # Errors
///
/// [`SignerError::InvalidPin`] for a PIN outside 1 to 64 bytes, [`SignerError::InvalidLength`]
/// for a session id outside 1 to 64 bytes or entropy outside 32 to 256 bytes,
/// [`SignerError::InvalidScalar`] in the 2^-256 cases where a value comes out zero.
pub fn begin(
    share: &MaskedShare,
    pin: &[u8],
    session_id: &[u8],
    message: &[u8],
    entropy: &[u8],
) -> Result<(ClientSigning, ClientRound), SignerError> {
    let pin = Pin::new(pin)?;
    check_session_id(session_id)?;
    let entropy = Entropy::new(entropy)?;

    let d1 = share.unmask(pin)?;
    let u = d1.invert();
    let p1 = mul_base(&u)?;
    let k1 = entropy.scalar(LABEL_K1)?;
    let q1 = mul_base(&k1)?;
    let t = entropy.scalar(LABEL_T)?;
    let t_point = mul_base(&t)?;
    let c = challenge(&t_point, &p1, &q1, session_id, message);
    let z = *t.expose() + c * u.expose();

    let mut kept = Zeroizing::new(Vec::new());
    kept.try_reserve_exact(message.len())
        .map_err(|_| SignerError::OutOfMemory)?;
    kept.extend_from_slice(message);
    let round = ClientRound {
        q1,
        proof: PinProof { t: t_point, z },
    };
    Ok((
        ClientSigning {
            d1,
            k1,
            message: kept,
        },
        round,
    ))
}

impl ClientSigning {
    /// Completes the signature from the server's partials: s = d1'·k1·s2 + d1'·s3 − r, then
    /// verifies (r, s) under `public_key` (the joint key P) over the message before returning
    /// it as DER.
    ///
    /// # Errors
    ///
    /// [`SignerError::RetryNeeded`] if s = 0 or r + s = n (start a new session);
    /// [`SignerError::BadSignature`] if the result does not verify (partials for another round,
    /// another key, or a share unmasked with a wrong PIN).
    pub fn finish(
        self,
        partials: &ServerPartials,
        public_key: &PublicKey,
    ) -> Result<Vec<u8>, SignerError> {
        let ServerPartials { r, s2, s3 } = *partials;
        let s = *self.d1.expose() * (*self.k1.expose() * s2 + s3) - r;
        if bool::from(s.is_zero() | (r + s).is_zero()) {
            return Err(SignerError::RetryNeeded);
        }
        let der = signature_to_der(&r.to_repr().into(), &s.to_repr().into());
        verify(public_key, &self.message, &der)?;
        Ok(der)
    }
}

/// The server's answer to a round: `r ‖ s2 ‖ s3`, each in `[1, n-1]`, with
/// s2 = d2·k3 and s3 = d2·(r + k2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerPartials {
    r: Scalar,
    s2: Scalar,
    s3: Scalar,
}

impl ServerPartials {
    /// Parses `r ‖ s2 ‖ s3`, 96 bytes.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] unless 96 bytes; [`SignerError::InvalidScalar`] if any
    /// value is zero or not below n.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignerError> {
        let bytes: &[u8; PARTIALS_LEN] = exact(bytes)?;
        let (r, rest) = take::<SCALAR_LEN>(bytes)?;
        let (s2, s3) = take::<SCALAR_LEN>(rest)?;
        Ok(Self {
            r: parse_nonzero_scalar(r)?,
            s2: parse_nonzero_scalar(s2)?,
            s3: parse_nonzero_scalar(exact(s3)?)?,
        })
    }

    /// `r ‖ s2 ‖ s3`, 96 bytes.
    pub fn to_bytes(&self) -> [u8; PARTIALS_LEN] {
        let mut out = [0u8; PARTIALS_LEN];
        for (chunk, value) in out
            .chunks_exact_mut(SCALAR_LEN)
            .zip([self.r, self.s2, self.s3])
        {
            chunk.copy_from_slice(&value.to_repr());
        }
        out
    }
}

/// The server's share d2 of a key. Not `Clone`; redacted in `Debug`; wiped on drop.
pub struct ServerShare {
    d2: SecretScalar,
}

impl fmt::Debug for ServerShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerShare([redacted])")
    }
}

impl ServerShare {
    /// A new share d2 = scalar(`mcert/d2`) from server entropy (32 to 256 bytes).
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] for entropy of another length;
    /// [`SignerError::InvalidScalar`] if it expands to zero (probability 2^-256).
    pub fn generate(entropy: &[u8]) -> Result<Self, SignerError> {
        Ok(Self {
            d2: Entropy::new(entropy)?.scalar(LABEL_D2)?,
        })
    }

    /// Restores a share from its 32 big-endian bytes (as unsealed from storage).
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidScalar`] if the value is zero or not below n.
    pub fn from_bytes(bytes: &[u8; SCALAR_LEN]) -> Result<Self, SignerError> {
        Ok(Self {
            d2: SecretScalar::new(parse_nonzero_scalar(bytes)?)?,
        })
    }

    /// The secret d2 as 32 big-endian bytes, to be sealed for storage; wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
        Zeroizing::new(self.d2.expose().to_repr().into())
    }

    /// The joint public key P = [d2⁻¹]P1 − G for the phone's P1 = [d1⁻¹]G, which equals
    /// [(d1·d2)⁻¹ − 1]G; it goes in the certificate.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidPoint`] if P would be the identity (d1·d2 = 1).
    pub fn joint_public_key(&self, p1: &PublicKey) -> Result<PublicKey, SignerError> {
        public_key(p1.to_projective() * self.d2.invert().expose() - ProjectivePoint::GENERATOR)
    }

    /// The server's half of a signature over the digest `e` = SM3(Z_A ‖ M), which the server
    /// computes itself from the session it owns ([`crate::message_digest`] with P), for the
    /// phone's nonce commitment `q1`. Call only after [`verify_pin_proof`] accepted the round.
    ///
    /// k2, k3 come from `entropy` with labels `mcert/k2` ‖ u8(attempt) and `mcert/k3` ‖
    /// u8(attempt), attempt 0, 1, …; an attempt is discarded while [k3]Q1 + [k2]G is the
    /// identity, r = 0 or s3 = 0.
    ///
    /// # Errors
    ///
    /// [`SignerError::InvalidLength`] for entropy outside 32 to 256 bytes;
    /// [`SignerError::RetryNeeded`] if every attempt failed (probability about 2^-2000).
    pub fn partials(
        &self,
        e: &[u8; 32],
        q1: &PublicKey,
        entropy: &[u8],
    ) -> Result<ServerPartials, SignerError> {
        let entropy = Entropy::new(entropy)?;
        let e = reduce_256(e);
        let q1 = q1.to_projective();
        let d2 = self.d2.expose();
        for attempt in 0..SERVER_ATTEMPTS {
            let (Ok(k2), Ok(k3)) = (
                entropy.scalar(&[LABEL_K2, &[attempt]].concat()),
                entropy.scalar(&[LABEL_K3, &[attempt]].concat()),
            ) else {
                continue;
            };
            let point = (q1 * k3.expose() + mul_generator(k2.expose())).to_affine();
            let r = e + x_mod_n(&point);
            let s3 = *d2 * (r + k2.expose());
            if bool::from(point.is_identity() | r.is_zero() | s3.is_zero()) {
                continue;
            }
            return Ok(ServerPartials {
                r,
                s2: *d2 * k3.expose(),
                s3,
            });
        }
        Err(SignerError::RetryNeeded)
    }
}

/// The server's check of a round's PIN proof against its stored P1: [z]G = T + [c]P1.
///
/// # Errors
///
/// [`SignerError::InvalidLength`] for a session id outside 1 to 64 bytes;
/// [`SignerError::ProofRejected`] if the proof does not hold: a wrong PIN (count it), or a
/// proof made for another session, message, Q1 or key.
pub fn verify_pin_proof(
    p1: &PublicKey,
    q1: &PublicKey,
    session_id: &[u8],
    message: &[u8],
    proof: &PinProof,
) -> Result<(), SignerError> {
    check_session_id(session_id)?;
    let c = challenge(&proof.t, p1, q1, session_id, message);
    let lhs = mul_generator(&proof.z);
    let rhs = proof.t.to_projective() + p1.to_projective() * c;
    if points_equal(&lhs, &rhs) {
        Ok(())
    } else {
        Err(SignerError::ProofRejected)
    }
}

/// c = SM3("mcert/pin-proof/v1" ‖ T ‖ P1 ‖ Q1 ‖ u8(len(session_id)) ‖ session_id ‖ SM3(M)) mod n.
fn challenge(
    t: &PublicKey,
    p1: &PublicKey,
    q1: &PublicKey,
    session_id: &[u8],
    message: &[u8],
) -> Scalar {
    // `check_session_id` bounds the length by 64, so it fits the byte.
    let session_id_len = u8::try_from(session_id.len()).unwrap_or(u8::MAX);
    let digest: [u8; 32] = Sm3::new()
        .chain_update(PROOF_DOMAIN)
        .chain_update(encode_point(t))
        .chain_update(encode_point(p1))
        .chain_update(encode_point(q1))
        .chain_update([session_id_len])
        .chain_update(session_id)
        .chain_update(sm3_digest(message))
        .finalize()
        .into();
    reduce_256(&digest)
}

fn check_session_id(session_id: &[u8]) -> Result<(), SignerError> {
    length_within(session_id, MIN_SESSION_ID_LEN, MAX_SESSION_ID_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message_digest;
    use crate::share::{generate_share, generate_with_iterations};
    use proptest::prelude::*;
    use sm2::dsa::signature::Verifier;
    use sm2::dsa::{Signature, VerifyingKey};

    /// n, the order of the SM2 group.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5,
        0x41, 0x23,
    ];

    /// A phone and a server that completed key generation.
    struct Enrolled {
        share: MaskedShare,
        p1: PublicKey,
        server: ServerShare,
        public_key: PublicKey,
    }

    /// Key generation with a cheap KDF, so that property tests stay fast.
    fn enrol(phone_entropy: &[u8], pin: &[u8], server_entropy: &[u8]) -> Enrolled {
        let (share, p1) = generate_with_iterations(phone_entropy, pin, 2).unwrap();
        let server = ServerShare::generate(server_entropy).unwrap();
        let public_key = server.joint_public_key(&p1).unwrap();
        Enrolled {
            share,
            p1,
            server,
            public_key,
        }
    }

    /// The server's half of a round, as the server runs it: check the proof, then compute e
    /// itself and the partials.
    fn server_answer(
        enrolled: &Enrolled,
        round: &ClientRound,
        session_id: &[u8],
        message: &[u8],
        entropy: &[u8],
    ) -> Result<ServerPartials, SignerError> {
        verify_pin_proof(&enrolled.p1, &round.q1, session_id, message, &round.proof)?;
        let e = message_digest(&enrolled.public_key, message)?;
        enrolled.server.partials(&e, &round.q1, entropy)
    }

    fn sm2_crate_verifies(public_key: &PublicKey, message: &[u8], der: &[u8]) -> bool {
        let (r, s) = crate::signature_from_der(der).unwrap();
        let signature = Signature::from_scalars(r, s).unwrap();
        VerifyingKey::new(crate::DIST_ID, *public_key)
            .unwrap()
            .verify(message, &signature)
            .is_ok()
    }

    fn unmasked(enrolled: &Enrolled, pin: &[u8]) -> SecretScalar {
        enrolled.share.unmask(Pin::new(pin).unwrap()).unwrap()
    }

    const PIN: &[u8] = b"123456";
    const SESSION: &[u8] = b"session-1";
    const MESSAGE: &[u8] = b"MCERT-SIGN test message";

    fn entropy(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    fn fixture() -> Enrolled {
        enrol(&entropy(1), PIN, &entropy(2))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn co_signatures_are_plain_sm2_signatures_under_the_joint_key(
            phone_entropy in proptest::collection::vec(any::<u8>(), 32..=64),
            server_entropy in any::<[u8; 32]>(),
            begin_entropy in any::<[u8; 32]>(),
            partials_entropy in any::<[u8; 48]>(),
            pin in proptest::collection::vec(any::<u8>(), 1..=64),
            session_id in proptest::collection::vec(any::<u8>(), 1..=64),
            message in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let enrolled = enrol(&phone_entropy, &pin, &server_entropy);

            // P = [(d1·d2)⁻¹ − 1]G, computed directly from both shares.
            let d1 = unmasked(&enrolled, &pin);
            let d = (*d1.expose() * enrolled.server.d2.expose()).invert().unwrap() - Scalar::ONE;
            let direct = (ProjectivePoint::GENERATOR * d).to_affine();
            prop_assert_eq!(*enrolled.public_key.as_affine(), direct);

            let (signing, round) =
                begin(&enrolled.share, &pin, &session_id, &message, &begin_entropy).unwrap();
            let partials =
                server_answer(&enrolled, &round, &session_id, &message, &partials_entropy)
                    .unwrap();
            let der = signing.finish(&partials, &enrolled.public_key).unwrap();
            prop_assert_eq!(verify(&enrolled.public_key, &message, &der), Ok(()));
            prop_assert!(sm2_crate_verifies(&enrolled.public_key, &message, &der));
        }

        #[test]
        fn a_wrong_pin_is_caught_by_the_server_only(
            phone_entropy in any::<[u8; 32]>(),
            pin in proptest::collection::vec(any::<u8>(), 1..=8),
            wrong_pin in proptest::collection::vec(any::<u8>(), 1..=8),
        ) {
            prop_assume!(pin != wrong_pin);
            let enrolled = enrol(&phone_entropy, &pin, &entropy(2));
            // The phone cannot tell: begin succeeds with any PIN.
            let (signing, round) =
                begin(&enrolled.share, &wrong_pin, SESSION, MESSAGE, &entropy(3)).unwrap();
            prop_assert_eq!(
                verify_pin_proof(&enrolled.p1, &round.q1, SESSION, MESSAGE, &round.proof),
                Err(SignerError::ProofRejected)
            );
            // Even a server that answered anyway would get no valid signature.
            let e = message_digest(&enrolled.public_key, MESSAGE).unwrap();
            let partials = enrolled.server.partials(&e, &round.q1, &entropy(4)).unwrap();
            prop_assert_eq!(
                signing.finish(&partials, &enrolled.public_key),
                Err(SignerError::BadSignature)
            );
        }
    }

    #[test]
    fn proof_is_bound_to_session_message_nonce_and_key() {
        let enrolled = fixture();
        let (_, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let check = |p1: &PublicKey, q1: &PublicKey, session: &[u8], message: &[u8]| {
            verify_pin_proof(p1, q1, session, message, &round.proof)
        };
        assert_eq!(check(&enrolled.p1, &round.q1, SESSION, MESSAGE), Ok(()));
        assert_eq!(
            check(&enrolled.p1, &round.q1, b"session-2", MESSAGE),
            Err(SignerError::ProofRejected)
        );
        assert_eq!(
            check(
                &enrolled.p1,
                &round.q1,
                SESSION,
                b"MCERT-SIGN other message"
            ),
            Err(SignerError::ProofRejected)
        );
        let other = enrol(&entropy(9), PIN, &entropy(2));
        let (_, other_round) = begin(&other.share, PIN, SESSION, MESSAGE, &entropy(8)).unwrap();
        assert_eq!(
            check(&enrolled.p1, &other_round.q1, SESSION, MESSAGE),
            Err(SignerError::ProofRejected)
        );
        assert_eq!(
            check(&other.p1, &round.q1, SESSION, MESSAGE),
            Err(SignerError::ProofRejected)
        );
        assert_eq!(
            check(&enrolled.p1, &round.q1, b"", MESSAGE),
            Err(SignerError::InvalidLength {
                expected: 1,
                actual: 0
            })
        );
    }

    #[test]
    fn proof_matches_the_documented_challenge() {
        // c = SM3("mcert/pin-proof/v1" ‖ T ‖ P1 ‖ Q1 ‖ u8(len) ‖ session_id ‖ SM3(M)) mod n,
        // z = t + c·u: check [z]G = T + [c]P1 with c assembled here byte by byte.
        let enrolled = fixture();
        let (_, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let mut input = b"mcert/pin-proof/v1".to_vec();
        input.extend_from_slice(&round.proof.to_bytes()[..65]);
        input.extend_from_slice(&encode_point(&enrolled.p1));
        input.extend_from_slice(&round.to_bytes()[..65]);
        input.push(SESSION.len() as u8);
        input.extend_from_slice(SESSION);
        input.extend_from_slice(&sm3_digest(MESSAGE));
        let c = reduce_256(&sm3_digest(&input));
        let t = Entropy::new(&entropy(3)).unwrap().scalar(LABEL_T).unwrap();
        let u = unmasked(&enrolled, PIN).invert();
        assert_eq!(round.proof.z, *t.expose() + c * u.expose());
        let k1 = Entropy::new(&entropy(3)).unwrap().scalar(LABEL_K1).unwrap();
        assert_eq!(round.q1, mul_base(&k1).unwrap());
    }

    #[test]
    fn partials_follow_the_documented_formulas() {
        let enrolled = fixture();
        let (_, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let server_entropy = entropy(4);
        let partials = server_answer(&enrolled, &round, SESSION, MESSAGE, &server_entropy).unwrap();
        let expand = Entropy::new(&server_entropy).unwrap();
        let k2 = expand.scalar(b"mcert/k2\x00").unwrap();
        let k3 = expand.scalar(b"mcert/k3\x00").unwrap();
        let point =
            round.q1.to_projective() * k3.expose() + ProjectivePoint::GENERATOR * k2.expose();
        let e = message_digest(&enrolled.public_key, MESSAGE).unwrap();
        let r = reduce_256(&e) + x_mod_n(&point.to_affine());
        let d2 = enrolled.server.d2.expose();
        assert_eq!(partials.r, r);
        assert_eq!(partials.s2, *d2 * k3.expose());
        assert_eq!(partials.s3, *d2 * (r + k2.expose()));
    }

    #[test]
    fn remask_keeps_the_key_and_retires_the_old_pin() {
        let mut enrolled = fixture();
        enrolled.share = enrolled.share.remask(PIN, b"000000", &entropy(5)).unwrap();

        let (signing, round) =
            begin(&enrolled.share, b"000000", SESSION, MESSAGE, &entropy(3)).unwrap();
        let partials = server_answer(&enrolled, &round, SESSION, MESSAGE, &entropy(4)).unwrap();
        let der = signing.finish(&partials, &enrolled.public_key).unwrap();
        assert!(sm2_crate_verifies(&enrolled.public_key, MESSAGE, &der));

        let (_, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        assert_eq!(
            server_answer(&enrolled, &round, SESSION, MESSAGE, &entropy(4)),
            Err(SignerError::ProofRejected)
        );
    }

    #[test]
    fn degenerate_signatures_ask_for_a_retry() {
        let enrolled = fixture();
        let r = Scalar::from(12_345u64);
        let s2 = Scalar::from(678u64);
        for s_target in [Scalar::ZERO, -r] {
            let (signing, _) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
            // s = d1·(k1·s2 + s3) − r, solved for s3.
            let s3 = (s_target + r) * signing.d1.invert().expose() - *signing.k1.expose() * s2;
            let partials = ServerPartials { r, s2, s3 };
            assert_eq!(
                signing.finish(&partials, &enrolled.public_key),
                Err(SignerError::RetryNeeded)
            );
        }
    }

    #[test]
    fn partials_of_another_round_do_not_verify() {
        let enrolled = fixture();
        let (_, first) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let partials = server_answer(&enrolled, &first, SESSION, MESSAGE, &entropy(4)).unwrap();
        let (second, _) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(6)).unwrap();
        assert_eq!(
            second.finish(&partials, &enrolled.public_key),
            Err(SignerError::BadSignature)
        );
    }

    #[test]
    fn begin_checks_its_inputs() {
        let share = fixture().share;
        type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], SignerError);
        let cases: [Case; 5] = [
            (b"", SESSION, &[1; 32], SignerError::InvalidPin { len: 0 }),
            (
                &[b'1'; 65],
                SESSION,
                &[1; 32],
                SignerError::InvalidPin { len: 65 },
            ),
            (
                PIN,
                b"",
                &[1; 32],
                SignerError::InvalidLength {
                    expected: 1,
                    actual: 0,
                },
            ),
            (
                PIN,
                &[b's'; 65],
                &[1; 32],
                SignerError::InvalidLength {
                    expected: 64,
                    actual: 65,
                },
            ),
            (
                PIN,
                SESSION,
                &[1; 31],
                SignerError::InvalidLength {
                    expected: 32,
                    actual: 31,
                },
            ),
        ];
        for (pin, session, entropy, error) in cases {
            assert_eq!(
                begin(&share, pin, session, MESSAGE, entropy).map(|_| ()),
                Err(error)
            );
        }
        assert!(begin(&share, PIN, &[b's'; 64], b"", &[1; 256]).is_ok());
    }

    #[test]
    fn round_and_proof_encodings() {
        let enrolled = fixture();
        let (_, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let bytes = round.to_bytes();
        assert_eq!(bytes.len(), ROUND_LEN);
        assert_eq!(bytes[0], 0x04);
        assert_eq!(bytes[65], 0x04);
        assert_eq!(ClientRound::from_bytes(&bytes), Ok(round));
        assert_eq!(PinProof::from_bytes(&bytes[65..]), Ok(round.proof));

        for len in [0, 96, 98] {
            assert_eq!(
                PinProof::from_bytes(&vec![4; len]),
                Err(SignerError::InvalidLength {
                    expected: 97,
                    actual: len
                })
            );
        }
        assert_eq!(
            ClientRound::from_bytes(&bytes[..161]),
            Err(SignerError::InvalidLength {
                expected: 162,
                actual: 161
            })
        );

        let proof = round.proof.to_bytes();
        let mut identity = proof;
        identity[..65].fill(0);
        let mut off_curve = proof;
        off_curve[64] ^= 1;
        let mut compressed_tag = proof;
        compressed_tag[0] = 0x02;
        for bad in [identity, off_curve, compressed_tag] {
            assert_eq!(PinProof::from_bytes(&bad), Err(SignerError::InvalidPoint));
        }
        let mut z_is_n = proof;
        z_is_n[65..].copy_from_slice(&N);
        let mut z_all_ones = proof;
        z_all_ones[65..].fill(0xff);
        for bad in [z_is_n, z_all_ones] {
            assert_eq!(PinProof::from_bytes(&bad), Err(SignerError::InvalidScalar));
        }
        let mut z_zero = proof;
        z_zero[65..].fill(0);
        assert!(
            PinProof::from_bytes(&z_zero).is_ok(),
            "z = 0 is a valid response"
        );

        let mut bad_q1 = bytes.clone();
        bad_q1[64] ^= 1;
        assert_eq!(
            ClientRound::from_bytes(&bad_q1),
            Err(SignerError::InvalidPoint)
        );
        let mut bad_t = bytes;
        bad_t[65] = 0;
        assert_eq!(
            ClientRound::from_bytes(&bad_t),
            Err(SignerError::InvalidPoint)
        );
    }

    #[test]
    fn partials_encoding() {
        let enrolled = fixture();
        let (_, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let partials = server_answer(&enrolled, &round, SESSION, MESSAGE, &entropy(4)).unwrap();
        let bytes = partials.to_bytes();
        assert_eq!(ServerPartials::from_bytes(&bytes), Ok(partials));
        assert_eq!(
            ServerPartials::from_bytes(&bytes[..95]),
            Err(SignerError::InvalidLength {
                expected: 96,
                actual: 95
            })
        );
        for index in 0..3 {
            for bad in [[0; 32], N, [0xff; 32]] {
                let mut corrupt = bytes;
                corrupt[index * 32..(index + 1) * 32].copy_from_slice(&bad);
                assert_eq!(
                    ServerPartials::from_bytes(&corrupt),
                    Err(SignerError::InvalidScalar),
                    "value {index}"
                );
            }
        }
    }

    #[test]
    fn server_share_encoding_and_limits() {
        let server = ServerShare::generate(&entropy(2)).unwrap();
        let bytes = server.to_bytes();
        let restored = ServerShare::from_bytes(&bytes).unwrap();
        assert_eq!(restored.d2.expose(), server.d2.expose());
        assert_eq!(format!("{server:?}"), "ServerShare([redacted])");
        for bad in [[0; 32], N, [0xff; 32]] {
            assert_eq!(
                ServerShare::from_bytes(&bad).map(|_| ()),
                Err(SignerError::InvalidScalar)
            );
        }
        assert_eq!(
            ServerShare::generate(&[0; 16]).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 32,
                actual: 16
            })
        );
        let q1 = fixture().p1;
        assert_eq!(
            server.partials(&[0; 32], &q1, &[0; 300]).map(|_| ()),
            Err(SignerError::InvalidLength {
                expected: 256,
                actual: 300
            })
        );
    }

    #[test]
    fn joint_key_that_would_be_the_identity_is_refused() {
        let enrolled = fixture();
        // d2 = d1⁻¹ makes d1·d2 = 1 and P = [1 − 1]G.
        let d1 = unmasked(&enrolled, PIN);
        let bad = ServerShare::from_bytes(&d1.invert().expose().to_repr().into()).unwrap();
        assert_eq!(
            bad.joint_public_key(&enrolled.p1),
            Err(SignerError::InvalidPoint)
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let enrolled = fixture();
        let (signing, _) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        assert_eq!(format!("{signing:?}"), "ClientSigning([redacted])");
    }

    #[test]
    fn real_kdf_round_trip() {
        let (share, p1) = generate_share(&entropy(1), PIN).unwrap();
        let server = ServerShare::generate(&entropy(2)).unwrap();
        let public_key = server.joint_public_key(&p1).unwrap();
        let enrolled = Enrolled {
            share,
            p1,
            server,
            public_key,
        };
        let (signing, round) = begin(&enrolled.share, PIN, SESSION, MESSAGE, &entropy(3)).unwrap();
        let partials = server_answer(&enrolled, &round, SESSION, MESSAGE, &entropy(4)).unwrap();
        let der = signing.finish(&partials, &enrolled.public_key).unwrap();
        assert!(sm2_crate_verifies(&enrolled.public_key, MESSAGE, &der));
    }
}

/// A fixed end-to-end vector of the split-key bytes, for the SDK and any other implementation:
/// every input is fixed, so every output is too. Self-generated (not a standard vector) by
/// `print_split_key_vector`; changing a byte format, a label or [`crate::share::PIN_KDF_ITERATIONS`]
/// changes it, which is the point.
#[cfg(test)]
mod vector {
    use super::*;
    use crate::message::{KeyCheck, SignedMessage};
    use crate::share::generate_share;
    use crate::transport::{Channel, TransportSecret};
    use crate::{message_digest, signature_from_der};
    use sm2::elliptic_curve::sec1::ToEncodedPoint;

    fn counting(start: u8) -> [u8; 32] {
        core::array::from_fn(|i| start + i as u8)
    }

    const PIN: &[u8] = b"123456";
    const NEW_PIN: &[u8] = b"654321";
    const SESSION_ID: &[u8] = b"vector-session";

    fn message() -> Vec<u8> {
        SignedMessage::KeyCheck(KeyCheck {
            serial: "0123456789abcdef".into(),
            purpose: "verify_pin".into(),
            nonce: core::array::from_fn(|i| 0x80 + i as u8),
            issued_at: 1_767_225_600,
        })
        .encode()
        .unwrap()
    }

    struct Outputs {
        p1: String,
        share: String,
        d2: String,
        public_key: String,
        message: String,
        round: String,
        partials: String,
        signature: String,
        remasked: String,
        transport_key: String,
        sealed_round: String,
        sealed_partials: String,
    }

    fn run() -> Outputs {
        let (share, p1) = generate_share(&counting(0x00), PIN).unwrap();
        let server = ServerShare::generate(&counting(0x20)).unwrap();
        let public_key = server.joint_public_key(&p1).unwrap();
        let message = message();
        let (signing, round) = begin(&share, PIN, SESSION_ID, &message, &counting(0x40)).unwrap();
        // The round sealed as `cosign_begin` seals it: A from the round's own entropy.
        let transport = TransportSecret::generate(&counting(0x80)).unwrap();
        let (channel, ephemeral) =
            Channel::client(transport.public_key(), SESSION_ID, &counting(0x40)).unwrap();
        let sealed_round = channel.seal_round(&ephemeral, &round);
        let (opened, server_channel) = transport.open_round(SESSION_ID, &sealed_round).unwrap();
        assert_eq!(opened, round);
        verify_pin_proof(&p1, &round.q1, SESSION_ID, &message, &round.proof).unwrap();
        let e = message_digest(&public_key, &message).unwrap();
        let partials = server.partials(&e, &round.q1, &counting(0x60)).unwrap();
        let sealed_partials = server_channel.seal_partials(&partials);
        assert_eq!(channel.open_partials(&sealed_partials).unwrap(), partials);
        let signature = signing.finish(&partials, &public_key).unwrap();
        let remasked = share.remask(PIN, NEW_PIN, &counting(0xa0)).unwrap();
        Outputs {
            p1: hex::encode(p1.to_encoded_point(false)),
            share: hex::encode(share.to_bytes()),
            d2: hex::encode(*server.to_bytes()),
            public_key: hex::encode(public_key.to_encoded_point(false)),
            message: hex::encode(&message),
            round: hex::encode(round.to_bytes()),
            partials: hex::encode(partials.to_bytes()),
            signature: hex::encode(signature),
            remasked: hex::encode(remasked.to_bytes()),
            transport_key: hex::encode(transport.public_key().to_encoded_point(false)),
            sealed_round: hex::encode(sealed_round),
            sealed_partials: hex::encode(sealed_partials),
        }
    }

    // Printed by `print_split_key_vector` (the sealed round and partials under a transport key
    // from counting(0x80)). The signature was checked once with OpenSSL 3.0
    // (`openssl dgst -sm3 -verify p.pem -signature sig.der -sigopt distid:1234567812345678`
    // over MESSAGE, with PUBLIC_KEY as p.pem: "Verified OK").
    const P1: &str = "04a4b6abb801403afa874581936c685baefda8173a91d8b3c9a03b0276aa482e6b\
        b32a7e4210ee6b83ab6391f6a5d964750aca3b99254b379dd72b012bf25ce154";
    const SHARE: &str = "010100003e80c8df77f1f475df1ec1c6c04f31be8d29998d09b39bdce377e4bb\
        8c77d01d343d23ae96d478fe13e4ad0c5df3f8fa6dd1";
    const D2: &str = "e996a22b508600794465d420c64b538b4505e8f4e9d04343cb626eb36f53bd94";
    const PUBLIC_KEY: &str = "043bb968617c20e1ad04f85fdf2a3839b0c0b625c337ae2e5a3c386848c84c1e7d\
        6f68f8f3bc092f926283c7f7eee8d80ca8207d086a48a006652feb83f1aee072";
    const MESSAGE: &str = "4d434552542d5349474e02040100103031323334353637383961626364656602\
        000a7665726966795f70696e030010808182838485868788898a8b8c8d8e8f04\
        0008000000006955b900";
    const ROUND: &str = "042e0bb1cecccaca393c78bf56a3d32b202e09cf06464f124b210c3c66eff35d\
        cece991741817c91d1b093a787f9a5f9b5219db604ab5fd61cb9140e324179f7\
        1404cdf6749582ef89c4f1643abd9293a7c101200a15c65b3e024bea410e8f17\
        9553a7980c77dd02b064cb8078012bafdb621d02994fe89915135417a41679e4\
        d83c40ec2f0e880f99a288a04108791fa2b4a001f06cde9d3f9d10bab650b741\
        2393";
    const PARTIALS: &str = "32c23b54817c724afdd422a1fb9f76e2d52557a960d602e3e305947539863e74\
        65453089432782ad5db7682585a337f5e1eaf1b770cb202dc3e28ed81268ded1\
        2464bfedd3f4bb2d3ffa8d9463e2fbbe04194bafd11bd788c5b12e9cb1bec81f";
    const SIGNATURE: &str = "3044022032c23b54817c724afdd422a1fb9f76e2d52557a960d602e3e3059475\
        39863e74022078f18f50afd7c3868ee358cc33baf52e8cf1862b1264a6fae476\
        b41c1e37dc9c";
    const REMASKED: &str = "010100003e80864e856c6852731cf5708a4ed80c7ea574c7c85e28435ff10df0\
        afe29ee049c78f6d9896642006320a41db6cf1fb327e";

    const TRANSPORT_KEY: &str = "04fa54aff538ef2fe807a1ec5bb4f5e2ebc2c232e1655065426a6aa704f8ab4f\
        af165919147a861fdb8bf838f39b8135b3a79b5e3f805918b5b0d6bfb5510197\
        b6";
    const SEALED_ROUND: &str = "020420469e6f59763bb84b855b39534b7017bb2545972d02f39233d6bc80aeab\
        b720f720523f9e4b9611f446a3fcc87baeee8ded854b94caa17f8986d51784d2\
        b4b60439146ca7e82e47e3f856faba8698723fcde64d4442bf1f3cda4e8e05e2\
        e296dfda12184f3c5266aaaf8942bbe451bba21dba72faf77ffa90dac07dcc1b\
        221f4df19984de7e64af77447443df01c1df5d9a1cb3f539258bfd80af52dd52\
        65e255ecd0e7f2899bbd9ffd7cd42bf1a44f5c987d56ae6b07233029a200411a\
        97d5699859e1261501887da5715da892770865722c9f0a4ab23fb78316794977\
        dd9ee65aadc2d47b0e398e1436fe7bd216701b20";
    const SEALED_PARTIALS: &str = "9d06097f5007073a4c83122259949db089c204f0b15ec9e9cd861fdfc89b0a6b\
        5bdfec4ec0c254f8abdee0560db0423e2926b258a754389dc6b8f9a7d7525c17\
        102f8adb2a1c5ee0ef7363292ff18117c6e6f77a7a59a6db7072a28d8e96be2d\
        4e489d6466c92859e2dab5688a620a0f";

    #[test]
    fn split_key_vector() {
        let out = run();
        assert_eq!(out.p1, P1);
        assert_eq!(out.share, SHARE);
        assert_eq!(out.d2, D2);
        assert_eq!(out.public_key, PUBLIC_KEY);
        assert_eq!(out.message, MESSAGE);
        assert_eq!(out.round, ROUND);
        assert_eq!(out.partials, PARTIALS);
        assert_eq!(out.signature, SIGNATURE);
        assert_eq!(out.remasked, REMASKED);
        assert_eq!(out.transport_key, TRANSPORT_KEY);
        assert_eq!(out.sealed_round, SEALED_ROUND);
        assert_eq!(out.sealed_partials, SEALED_PARTIALS);

        // The signature's r is the partials' r, and it verifies independently of this crate.
        let (r, s) = signature_from_der(&hex::decode(SIGNATURE).unwrap()).unwrap();
        assert_eq!(hex::encode(r), PARTIALS[..64]);
        let public_key = crate::parse_public_key(&hex::decode(PUBLIC_KEY).unwrap()).unwrap();
        let signature = sm2::dsa::Signature::from_scalars(r, s).unwrap();
        use sm2::dsa::signature::Verifier;
        assert!(
            sm2::dsa::VerifyingKey::new(crate::DIST_ID, public_key)
                .unwrap()
                .verify(&hex::decode(MESSAGE).unwrap(), &signature)
                .is_ok()
        );
    }

    #[test]
    #[ignore = "prints the split-key vector; run with --ignored --nocapture to regenerate"]
    fn print_split_key_vector() {
        let out = run();
        for (name, value) in [
            ("P1", out.p1),
            ("SHARE", out.share),
            ("D2", out.d2),
            ("PUBLIC_KEY", out.public_key),
            ("MESSAGE", out.message),
            ("ROUND", out.round),
            ("PARTIALS", out.partials),
            ("SIGNATURE", out.signature),
            ("REMASKED", out.remasked),
            ("TRANSPORT_KEY", out.transport_key),
            ("SEALED_ROUND", out.sealed_round),
            ("SEALED_PARTIALS", out.sealed_partials),
        ] {
            println!("{name}: {value}");
        }
    }
}

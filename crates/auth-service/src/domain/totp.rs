//! Time-based one-time passwords (RFC 6238) for multi-factor sign-in: the shared secret
//! and its base32 form, HOTP/TOTP codes (HMAC-SHA1, 6 digits, 30 s steps from the Unix
//! epoch, the parameters every authenticator app assumes), verification with one step
//! of clock drift either way, the `otpauth://` enrolment URI and its QR code, sealing
//! the secret at rest with a key derived from the service's signing secret, and
//! single-use recovery codes stored only as digests.

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes in a newly generated secret: 160 bits, the size RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds in a time step.
pub const STEP_SECONDS: i64 = 30;
/// Steps of clock drift accepted on either side of the current one.
pub const DRIFT_STEPS: i64 = 1;

/// Characters of a recovery code: lower case, without the look-alikes `i`, `l`, `o`,
/// `0` and `1`.
pub const RECOVERY_ALPHABET: &str = "abcdefghjkmnpqrstuvwxyz23456789";
/// Characters in a recovery code (without the hyphen it is shown with).
pub const RECOVERY_CODE_LEN: usize = 10;

/// Domain separation for the sealing key derived from the service's signing secret.
const SEAL_KEY_LABEL: &[u8] = b"ai-interviewer/totp-secret-seal/v1";
/// Prefix of a sealed secret, naming the format and the key derivation.
const SEAL_PREFIX: &str = "v1.";
/// ChaCha20-Poly1305 nonce length (96 bits).
const NONCE_LEN: usize = 12;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;

/// Why a TOTP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// The secret is not RFC 4648 base32.
    #[error("the TOTP secret is not valid base32: {0}")]
    Base32(#[from] data_encoding::DecodeError),
    /// The secret decodes to no bytes at all.
    #[error("the TOTP secret is empty")]
    EmptySecret,
    /// The data does not fit in a QR code.
    #[error("the QR code could not be built: {0}")]
    Qr(#[from] qrcode::types::QrError),
    /// A sealed secret is not `v1.` followed by a nonce and a ciphertext.
    #[error("the sealed TOTP secret is malformed: {0}")]
    Malformed(&'static str),
    /// A sealed secret is not base64url.
    #[error("the sealed TOTP secret is not valid base64url: {0}")]
    SealEncoding(#[from] base64::DecodeError),
    /// The sealed secret failed authentication: another key, another user, or tampered.
    #[error("the sealed TOTP secret could not be opened ({0})")]
    Unseal(chacha20poly1305::Error),
}

/// A TOTP shared secret. Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A fresh random secret of [`SECRET_LEN`] bytes from the thread-local CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; SECRET_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret from its raw bytes (for example just opened by [`SecretSealer::open`]).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw bytes, the HMAC key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32, upper case and without padding: what authenticator apps take.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// Parses base32 as apps and people write it: case, spaces, hyphens and trailing
    /// `=` padding are ignored. An empty secret is refused.
    pub fn from_base32(encoded: &str) -> Result<Self, TotpError> {
        let cleaned: String = encoded
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD.decode(cleaned.trim_end_matches('=').as_bytes())?;
        if bytes.is_empty() {
            return Err(TotpError::EmptySecret);
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// HMAC-SHA1 of `message` under `key`. HMAC takes a key of any length (a long one is
/// hashed first), so the constructor cannot fail.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC accepts a key of any length");
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `message` under `key`; as for [`hmac_sha1`], it cannot fail.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC accepts a key of any length");
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// RFC 4226 HOTP: HMAC-SHA1 over the big-endian counter, dynamic truncation to 31 bits,
/// then the last `digits` decimal digits (all 31 bits when `digits` is 10 or more).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let hash = hmac_sha1(secret, &counter.to_be_bytes());
    // HMAC-SHA1 gives 20 bytes; the offset is at most 15, so offset + 3 <= 18.
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset],
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]) & 0x7fff_ffff;
    match 10_u32.checked_pow(digits) {
        Some(modulus) => binary % modulus,
        None => binary,
    }
}

/// The time step of a Unix time (T0 = 0, 30 s steps); times before the epoch give
/// negative steps.
fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The zero-padded 6-digit code of a step, if the step is not before the epoch.
fn code_for_step(secret: &[u8], step: i64) -> Option<String> {
    let counter = u64::try_from(step).ok()?;
    Some(format!("{:06}", hotp(secret, counter, DIGITS)))
}

/// The 6-digit TOTP code (zero-padded) at a Unix time. Times before the epoch count as
/// the epoch's step.
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    let counter = u64::try_from(step_of(unix_seconds)).unwrap_or(0);
    format!("{:06}", hotp(secret, counter, DIGITS))
}

/// The six digits of a code as typed: surrounding whitespace and one space inside
/// (`"123 456"`) are allowed, anything else is refused.
fn parse_code(code: &str) -> Option<[u8; 6]> {
    let code = code.trim();
    let mut digits = [0_u8; 6];
    let mut count = 0_usize;
    let mut spaces = 0_usize;
    for byte in code.bytes() {
        if byte == b' ' {
            spaces += 1;
            if spaces > 1 {
                return None;
            }
        } else if byte.is_ascii_digit() {
            *digits.get_mut(count)? = byte;
            count += 1;
        } else {
            return None;
        }
    }
    (count == digits.len()).then_some(digits)
}

/// Checks a typed code against the current step and [`DRIFT_STEPS`] on either side.
/// Returns the step that matched (preferring the current one), which the caller records
/// so the same step cannot be used twice. Every candidate is computed and compared in
/// constant time, whether or not an earlier one matched.
pub fn verify(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    let given = parse_code(code)?;
    let now = step_of(unix_seconds);
    let mut matched = None;
    let candidates = std::iter::once(now).chain(
        (1..=DRIFT_STEPS)
            .flat_map(|d| [now.checked_sub(d), now.checked_add(d)])
            .flatten(),
    );
    for step in candidates {
        let Some(expected) = code_for_step(secret, step) else {
            continue;
        };
        let equal: bool = expected.as_bytes().ct_eq(&given).into();
        if equal && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// Percent-encodes everything but RFC 3986 unreserved characters (a space becomes
/// `%20`, `+` becomes `%2B`, `:` becomes `%3A`, `@` becomes `%40`).
fn percent_encode(input: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The Key URI an authenticator app enrols from:
/// `otpauth://totp/{issuer}:{account}?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`,
/// with the label parts and the issuer percent-encoded.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

/// An SVG QR code of `data` (error correction level M, with the quiet zone, at least
/// 200 × 200 px), black on white.
pub fn qr_svg(data: &str) -> Result<String, TotpError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// Seals TOTP secrets at rest with ChaCha20-Poly1305 under a key derived from the
/// service's signing secret, bound to the user they belong to. Its `Debug` output never
/// shows the key.
#[derive(Clone)]
pub struct SecretSealer {
    cipher: ChaCha20Poly1305,
}

impl SecretSealer {
    /// Derives the sealing key HMAC-SHA256(key = `SECRET_KEY`, message =
    /// `"ai-interviewer/totp-secret-seal/v1"`), so it differs from the token signing key.
    pub fn from_secret_key(secret_key: &SecretString) -> Self {
        let key = hmac_sha256(secret_key.expose_secret().as_bytes(), SEAL_KEY_LABEL);
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// `v1.` + base64url-no-pad(nonce ‖ ciphertext ‖ tag), with a random 96-bit nonce
    /// and `context` (the user id's bytes) as associated data, so a sealed secret only
    /// opens for the same user.
    ///
    /// # Panics
    ///
    /// Only if `plaintext` exceeds ChaCha20-Poly1305's limit of about 256 GiB.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = match self.cipher.encrypt(&Nonce::from(nonce), payload) {
            Ok(ciphertext) => ciphertext,
            Err(e) => unreachable!("a TOTP secret is far below the AEAD size limit: {e}"),
        };
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        format!("{SEAL_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens what [`seal`](Self::seal) made with the same key and `context`. Another
    /// key, another context, any changed byte and malformed input are all errors.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, TotpError> {
        let encoded = sealed
            .strip_prefix(SEAL_PREFIX)
            .ok_or(TotpError::Malformed("unknown version prefix"))?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(TotpError::Malformed("too short"));
        }
        let (nonce, ciphertext) = bytes
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(TotpError::Malformed("too short"))?;
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        self.cipher
            .decrypt(&Nonce::from(*nonce), payload)
            .map_err(TotpError::Unseal)
    }
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretSealer(<redacted>)")
    }
}

/// `n` distinct recovery codes of [`RECOVERY_CODE_LEN`] characters from
/// [`RECOVERY_ALPHABET`] (about 49 bits each), shown grouped as `xxxxx-xxxxx`.
pub fn generate_recovery_codes(n: usize) -> Vec<String> {
    let alphabet = RECOVERY_ALPHABET.as_bytes();
    let mut rng = rand::rng();
    let mut seen = HashSet::with_capacity(n);
    let mut codes = Vec::with_capacity(n);
    while codes.len() < n {
        let mut code = String::with_capacity(RECOVERY_CODE_LEN + 1);
        for i in 0..RECOVERY_CODE_LEN {
            if i == RECOVERY_CODE_LEN / 2 {
                code.push('-');
            }
            code.push(char::from(alphabet[rng.random_range(0..alphabet.len())]));
        }
        if seen.insert(code.clone()) {
            codes.push(code);
        }
    }
    codes
}

/// A recovery code as typed, reduced to the form that is digested: lower case, spaces
/// and hyphens dropped; `None` unless exactly [`RECOVERY_CODE_LEN`] characters of
/// [`RECOVERY_ALPHABET`] remain.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let normalized: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = normalized.len() == RECOVERY_CODE_LEN
        && normalized.chars().all(|c| RECOVERY_ALPHABET.contains(c));
    valid.then_some(normalized)
}

/// The lower-case hex SHA-256 of a normalized recovery code: what is stored. Codes are
/// random (about 49 bits) and single-use, so a fast hash suffices.
pub fn recovery_code_digest(normalized: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(normalized.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors() -> TestResult {
        for (t, want) in [
            (59_u64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(hotp(RFC_SECRET, t / 30, 8), want, "time {t}");
        }
        // The same vectors through the 6-digit API are their last six digits.
        assert_eq!(code_at(RFC_SECRET, 59), "287082");
        assert_eq!(code_at(RFC_SECRET, 1_111_111_109), "081804");
        Ok(())
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let want = [
            755_224_u32,
            287_082,
            359_152,
            969_429,
            338_314,
            254_676,
            287_922,
            162_583,
            399_871,
            520_489,
        ];
        for (counter, want) in (0_u64..).zip(want) {
            assert_eq!(hotp(RFC_SECRET, counter, 6), want, "counter {counter}");
        }
    }

    #[test]
    fn code_at_matches_totp_lite() -> TestResult {
        let secret = TotpSecret::generate();
        for t in [
            0_i64,
            29,
            30,
            59,
            1_111_111_109,
            1_700_000_000,
            1_700_000_015,
            2_000_000_000,
            20_000_000_000,
        ] {
            for key in [RFC_SECRET, secret.as_bytes()] {
                let unix = u64::try_from(t)?;
                let want = totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, key, unix);
                assert_eq!(code_at(key, t), want, "time {t}");
            }
        }
        Ok(())
    }

    #[test]
    fn verify_accepts_one_step_of_drift_and_returns_the_step() {
        let secret = TotpSecret::generate();
        let key = secret.as_bytes();
        let now = 1_700_000_010_i64;
        let step = now / 30;
        assert_eq!(verify(key, &code_at(key, now), now), Some(step));
        assert_eq!(verify(key, &code_at(key, now - 30), now), Some(step - 1));
        assert_eq!(verify(key, &code_at(key, now + 30), now), Some(step + 1));
        for far in [now - 60, now + 60, now - 3600] {
            let code = code_at(key, far);
            // A far code could collide with a near one by chance (1 in 10^6 each).
            let collides = [now - 30, now, now + 30]
                .iter()
                .any(|t| code_at(key, *t) == code);
            if !collides {
                assert_eq!(verify(key, &code, now), None, "time {far}");
            }
        }
    }

    #[test]
    fn verify_refuses_malformed_codes_and_allows_spacing() {
        let now = 1_234_567_890_i64;
        let code = code_at(RFC_SECRET, now);
        assert_eq!(code, "005924");
        let step = Some(now / 30);
        assert_eq!(verify(RFC_SECRET, " 005924\n", now), step);
        assert_eq!(verify(RFC_SECRET, "005 924", now), step);
        for bad in [
            "",
            "00592",
            "0059240",
            "00592a",
            "005-924",
            "0 05 924",
            "005  924",
            "+05924",
            "００５９２４",
            "5924",
        ] {
            assert_eq!(verify(RFC_SECRET, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn verify_before_the_epoch_does_not_panic() {
        // Every candidate step of a time long before the epoch is negative.
        assert_eq!(verify(RFC_SECRET, &code_at(RFC_SECRET, 0), -100), None);
        let first = code_at(RFC_SECRET, 0);
        assert_eq!(verify(RFC_SECRET, &first, 0), Some(0));
        assert_eq!(verify(RFC_SECRET, "123456", i64::MIN), None);
        let _ = verify(RFC_SECRET, "123456", i64::MAX);
    }

    #[test]
    fn base32_round_trip() -> TestResult {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), SECRET_LEN);
        let encoded = secret.to_base32();
        assert_eq!(encoded.len(), 32);
        assert!(
            encoded
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        );
        assert_eq!(TotpSecret::from_base32(&encoded)?, secret);
        let spaced = encoded.to_ascii_lowercase().replace("", " ");
        assert_eq!(TotpSecret::from_base32(&spaced)?, secret);
        assert_eq!(
            TotpSecret::from_bytes(RFC_SECRET.to_vec()).to_base32(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert!(TotpSecret::from_base32("not base32!").is_err());
        assert!(TotpSecret::from_base32("").is_err());
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        Ok(())
    }

    #[test]
    fn otpauth_uri_encodes_label_and_issuer() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        let uri = otpauth_uri("AI Interviewer", "jane+mfa@example.com", &secret);
        assert_eq!(
            uri,
            "otpauth://totp/AI%20Interviewer:jane%2Bmfa%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=AI%20Interviewer\
             &algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_uri("A:B&C", "é", &secret);
        assert!(odd.starts_with("otpauth://totp/A%3AB%26C:%C3%A9?"), "{odd}");
    }

    #[test]
    fn qr_svg_renders_an_svg() -> TestResult {
        let secret = TotpSecret::generate();
        let svg = qr_svg(&otpauth_uri("AI Interviewer", "jane@example.com", &secret))?;
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("</svg>"));
        Ok(())
    }

    #[test]
    fn seal_and_open() -> TestResult {
        let sealer = SecretSealer::from_secret_key(&SecretString::from("a-signing-secret"));
        let secret = TotpSecret::generate();
        let user = b"0b0e4a57-6f0c-4d7e-9d4e-1d2f3a4b5c6d";
        let sealed = sealer.seal(secret.as_bytes(), user);
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains(&secret.to_base32()));
        assert_eq!(sealer.open(&sealed, user)?, secret.as_bytes());
        // A fresh nonce each time.
        assert_ne!(sealer.seal(secret.as_bytes(), user), sealed);
        assert_eq!(format!("{sealer:?}"), "SecretSealer(<redacted>)");
        Ok(())
    }

    #[test]
    fn open_refuses_other_context_key_tampering_and_garbage() -> TestResult {
        let sealer = SecretSealer::from_secret_key(&SecretString::from("a-signing-secret"));
        let other = SecretSealer::from_secret_key(&SecretString::from("another-secret"));
        let sealed = sealer.seal(b"0123456789abcdefghij", b"user-1");
        assert!(matches!(
            sealer.open(&sealed, b"user-2"),
            Err(TotpError::Unseal(_))
        ));
        assert!(matches!(
            other.open(&sealed, b"user-1"),
            Err(TotpError::Unseal(_))
        ));

        let mut raw = URL_SAFE_NO_PAD.decode(sealed.trim_start_matches("v1."))?;
        for i in 0..raw.len() {
            raw[i] ^= 0x01;
            let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&raw));
            assert!(sealer.open(&tampered, b"user-1").is_err(), "byte {i}");
            raw[i] ^= 0x01;
        }
        assert_eq!(
            sealer.open(&format!("v1.{}", URL_SAFE_NO_PAD.encode(&raw)), b"user-1")?,
            b"0123456789abcdefghij"
        );

        let short = format!("v1.{}", URL_SAFE_NO_PAD.encode([0_u8; 27]));
        let garbage = [
            "",
            "v1.",
            "v1.!!!!",
            "v2.AAAA",
            "garbage",
            short.as_str(),
            &sealed[3..],
        ];
        for bad in garbage {
            assert!(sealer.open(bad, b"user-1").is_err(), "{bad:?}");
        }
        Ok(())
    }

    #[test]
    fn recovery_codes() -> TestResult {
        let codes = generate_recovery_codes(10);
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(code.chars().nth(5), Some('-'));
            let normalized = normalize_recovery_code(code).ok_or("generated code refused")?;
            assert_eq!(normalized, code.replace('-', ""));
            assert_eq!(
                normalize_recovery_code(&code.to_ascii_uppercase()),
                Some(normalized.clone())
            );
            assert_eq!(
                normalize_recovery_code(&normalized),
                Some(normalized.clone())
            );
            assert_eq!(
                normalize_recovery_code(&format!(" {} ", code.replace('-', " "))),
                Some(normalized)
            );
        }
        assert_eq!(
            normalize_recovery_code("ABCDE-FGHJK").as_deref(),
            Some("abcdefghjk")
        );
        for bad in [
            "abcde-fghj",
            "abcde-fghjkm",
            "",
            "abcde-fghj1",
            "abcde_fghjk",
            "abcde-fghio",
        ] {
            assert_eq!(normalize_recovery_code(bad), None, "{bad:?}");
        }
        assert!(generate_recovery_codes(0).is_empty());
        Ok(())
    }

    #[test]
    fn recovery_code_digest_is_hex_sha256() {
        assert_eq!(
            recovery_code_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let digest = recovery_code_digest("abcdefghjk");
        assert_eq!(digest.len(), 64);
        assert_ne!(digest, recovery_code_digest("abcdefghjm"));
    }
}

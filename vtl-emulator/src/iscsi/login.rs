//! The target's login policy (RFC 7143 section 6.3), sans-I/O: which
//! security methods it accepts and the CHAP exchange it runs as the
//! authenticator, on top of [`reel_drivers::iscsi::chap`].

use reel_drivers::iscsi::chap::{self, Challenge, ChapAlgorithm};
use reel_drivers::iscsi::pdu::login_status;

use super::config::ChapConfig;

/// Every algorithm the target answers, in no preferred order: the
/// initiator's list order decides (RFC 7143 12.1.3).
const ALGORITHMS: &[ChapAlgorithm] = &[
    ChapAlgorithm::Md5,
    ChapAlgorithm::Sha1,
    ChapAlgorithm::Sha256,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chap {
    /// Nothing exchanged yet.
    Start,
    /// AuthMethod=CHAP agreed; waiting for CHAP_A.
    Method,
    /// Challenge sent; waiting for CHAP_N/CHAP_R.
    Challenged(Challenge),
    /// Authenticated (or no authentication configured and agreed).
    Done,
}

/// One step of the security stage: keys to send back, or a login status
/// (class, detail) to fail with.
pub type AuthStep = Result<Vec<(String, String)>, (u8, u8)>;

fn get<'a>(keys: &'a [(String, String)], k: &str) -> Option<&'a str> {
    keys.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str())
}

const AUTH_FAILURE: (u8, u8) = login_status::AUTHENTICATION_FAILURE;

/// Runs the security stage keys of one login request.
pub fn security(
    state: &mut Chap,
    chap: Option<&ChapConfig>,
    keys: &[(String, String)],
) -> AuthStep {
    let mut out = Vec::new();
    let Some(cfg) = chap else {
        // No authentication: agree on None (anything else is refused).
        if let Some(methods) = get(keys, "AuthMethod") {
            if methods.split(',').any(|m| m == "None") {
                out.push(("AuthMethod".into(), "None".into()));
                *state = Chap::Done;
            } else {
                return Err(AUTH_FAILURE);
            }
        } else if *state == Chap::Start {
            *state = Chap::Done;
        }
        return Ok(out);
    };
    match state.clone() {
        Chap::Start | Chap::Method if get(keys, "AuthMethod").is_some() => {
            let methods = get(keys, "AuthMethod").unwrap_or_default();
            if !methods.split(',').any(|m| m == "CHAP") {
                return Err(AUTH_FAILURE);
            }
            out.push(("AuthMethod".into(), "CHAP".into()));
            *state = Chap::Method;
            // Some initiators send CHAP_A with AuthMethod.
            if get(keys, "CHAP_A").is_some() {
                out.extend(security(state, chap, keys)?);
            }
            Ok(out)
        }
        Chap::Method => {
            let Some(algs) = get(keys, "CHAP_A") else {
                return Ok(out);
            };
            let Some(alg) = chap::choose_algorithm(algs, ALGORITHMS) else {
                return Err(AUTH_FAILURE);
            };
            let challenge = Challenge::new(alg).map_err(|e| {
                tracing::error!("CHAP: no random challenge: {e}");
                login_status::TARGET_ERROR
            })?;
            out.extend(challenge.keys());
            *state = Chap::Challenged(challenge);
            Ok(out)
        }
        Chap::Challenged(challenge) => {
            let (Some(name), Some(resp)) = (get(keys, "CHAP_N"), get(keys, "CHAP_R")) else {
                return Err(AUTH_FAILURE);
            };
            let ok = challenge.check(resp, cfg.secret.as_bytes()) == Ok(true);
            if name != cfg.user || !ok {
                tracing::warn!(user = name, "CHAP: wrong name or secret");
                return Err(AUTH_FAILURE);
            }
            // Mutual: the initiator challenges us back.
            if let Some(ic) = get(keys, "CHAP_C") {
                let (Some(mu), Some(ms)) = (&cfg.mutual_user, &cfg.mutual_secret) else {
                    return Err(AUTH_FAILURE);
                };
                let iid = get(keys, "CHAP_I")
                    .and_then(|s| chap::parse_identifier(s).ok())
                    .ok_or(AUTH_FAILURE)?;
                let ic = chap::decode_binary(ic).map_err(|_| AUTH_FAILURE)?;
                // A reflected challenge would let an attacker use us as an oracle.
                if challenge.is_reflection(&ic) {
                    return Err(AUTH_FAILURE);
                }
                out.push(("CHAP_N".into(), mu.clone()));
                out.push((
                    "CHAP_R".into(),
                    chap::encode_hex(&chap::response(challenge.alg, iid, ms.as_bytes(), &ic)),
                ));
            }
            *state = Chap::Done;
            Ok(out)
        }
        // CHAP required and no AuthMethod offered.
        Chap::Start => Err(AUTH_FAILURE),
        Chap::Done => Ok(out),
    }
}

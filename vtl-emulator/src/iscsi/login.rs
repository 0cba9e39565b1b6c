//! The login phase (RFC 7143 section 6.3), sans-I/O: security stage (none
//! or CHAP), operational stage, and the move to full feature phase.

use super::auth::{self, ChapAlgorithm};
use super::config::ChapConfig;

/// Login status class/detail (RFC 7143 section 11.13.5).
pub const STATUS_AUTH_FAILURE: u16 = 0x0201;
pub const STATUS_NOT_FOUND: u16 = 0x0203;
pub const STATUS_UNSUPPORTED_VERSION: u16 = 0x0205;
pub const STATUS_MISSING_PARAMETER: u16 = 0x0207;
pub const STATUS_SESSION_NOT_EXIST: u16 = 0x020a;
pub const STATUS_INVALID_DURING_LOGIN: u16 = 0x020b;
pub const STATUS_INITIATOR_ERROR: u16 = 0x0200;

pub const STAGE_SECURITY: u8 = 0;
pub const STAGE_OPERATIONAL: u8 = 1;
pub const STAGE_FULL_FEATURE: u8 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chap {
    /// Nothing exchanged yet.
    Start,
    /// AuthMethod=CHAP agreed; waiting for CHAP_A.
    Method,
    /// Challenge sent; waiting for CHAP_N/CHAP_R.
    Challenged {
        alg: ChapAlgorithm,
        id: u8,
        challenge: Vec<u8>,
    },
    /// Authenticated (or no authentication configured and agreed).
    Done,
}

/// One step of the security stage: keys to send back, or a failure.
pub type AuthStep = Result<Vec<(String, String)>, u16>;

fn get<'a>(keys: &'a [(String, String)], k: &str) -> Option<&'a str> {
    keys.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str())
}

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
                return Err(STATUS_AUTH_FAILURE);
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
                return Err(STATUS_AUTH_FAILURE);
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
            let Some(alg) = algs.split(',').find_map(ChapAlgorithm::from_code) else {
                return Err(STATUS_AUTH_FAILURE);
            };
            let id = auth::random_bytes(1).first().copied().unwrap_or(0);
            let challenge = auth::random_bytes(alg.challenge_len());
            out.push(("CHAP_A".into(), alg.code().to_string()));
            out.push(("CHAP_I".into(), id.to_string()));
            out.push(("CHAP_C".into(), auth::encode_hex(&challenge)));
            *state = Chap::Challenged { alg, id, challenge };
            Ok(out)
        }
        Chap::Challenged { alg, id, challenge } => {
            let (Some(name), Some(resp)) = (get(keys, "CHAP_N"), get(keys, "CHAP_R")) else {
                return Err(STATUS_AUTH_FAILURE);
            };
            let expected = auth::response(alg, id, cfg.secret.as_bytes(), &challenge);
            let got = auth::decode_binary(resp).ok_or(STATUS_AUTH_FAILURE)?;
            if name != cfg.user || got != expected {
                tracing::warn!(user = name, "CHAP: wrong name or secret");
                return Err(STATUS_AUTH_FAILURE);
            }
            // Mutual: the initiator challenges us back.
            if let Some(ic) = get(keys, "CHAP_C") {
                let (Some(mu), Some(ms)) = (&cfg.mutual_user, &cfg.mutual_secret) else {
                    return Err(STATUS_AUTH_FAILURE);
                };
                let iid: u8 = get(keys, "CHAP_I")
                    .and_then(|s| s.parse().ok())
                    .ok_or(STATUS_AUTH_FAILURE)?;
                let ic = auth::decode_binary(ic).ok_or(STATUS_AUTH_FAILURE)?;
                // A reflected challenge would let an attacker use us as an oracle.
                if ic == challenge || ic.is_empty() {
                    return Err(STATUS_AUTH_FAILURE);
                }
                out.push(("CHAP_N".into(), mu.clone()));
                out.push((
                    "CHAP_R".into(),
                    auth::encode_hex(&auth::response(alg, iid, ms.as_bytes(), &ic)),
                ));
            }
            *state = Chap::Done;
            Ok(out)
        }
        Chap::Start => {
            // CHAP required and no AuthMethod offered.
            Err(STATUS_AUTH_FAILURE)
        }
        Chap::Done => Ok(out),
    }
}

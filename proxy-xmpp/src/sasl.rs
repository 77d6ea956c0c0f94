//! SASL for the XMPP client (RFC 6120 §6): ANONYMOUS (RFC 4505), PLAIN
//! (RFC 4616), SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), sans-IO.
//!
//! Written here rather than taken from a crate because the two candidates
//! (`sasl`, `rsasl`) draw their own unseeded nonce and let a hostile server
//! choose any PBKDF2 iteration count; this module does neither. Channel
//! binding (`-PLUS`) is not supported: the GS2 header is always `n,,` (the
//! client does not support channel binding), which servers must accept.
//!
//! # Use
//!
//! 1. When the stream features offer `<mechanisms>`, call [`start`] with the
//!    offered names, whether the stream is encrypted, and fresh random bytes
//!    for the SCRAM client nonce (the caller draws them: this module never
//!    draws randomness). It chooses a mechanism ([`choose`]) and returns the
//!    [`SaslClient`] with the `<auth/>` element to send.
//! 2. For each element of the SASL namespace the server sends, the stream
//!    layer parses the element and hands its local name and text content to
//!    [`ServerElement::from_parts`] (a `<failure>` also gives the local name of
//!    its condition child and the text of its `<text>` child), then calls
//!    [`SaslClient::handle`]. The answer is [`Step::Respond`] with a
//!    `<response/>` element to send, or [`Step::Success`] (restart the stream),
//!    or a [`SaslError`]: authentication failed and the client is finished.
//!
//! ```
//! use proxy_xmpp::sasl::{self, Credentials, SaslConfig, ServerElement, Step};
//!
//! let config = SaslConfig {
//!     credentials: Some(Credentials::new("user", "pencil")?),
//!     ..SaslConfig::default()
//! };
//! let nonce = [7u8; 24]; // from the OS random generator in real use
//! let (mut client, auth) = sasl::start(&config, ["PLAIN", "SCRAM-SHA-1"], true, &nonce)?;
//! assert!(auth.starts_with("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>"));
//! // A server that rejects the password:
//! let failure = ServerElement::failure("not-authorized", Some("Wrong password"));
//! assert!(client.handle(failure).is_err());
//! # Ok::<(), proxy_xmpp::sasl::SaslError>(())
//! ```
//!
//! # Limits and checks
//!
//! - The PBKDF2 iteration count the server asks for must be in
//!   `1..=`[`SaslConfig::max_iterations`], by default
//!   [`DEFAULT_MAX_ITERATIONS`] (100,000: ten times what Prosody sends, and
//!   about 25 times RFC 7677's minimum of 4,096). A hostile server cannot make
//!   the client spend more than that on one login: about 13 ms of one core
//!   for SCRAM-SHA-256 in a release build (11 ms for SHA-1), against 1.3 ms
//!   at Prosody's 10,000.
//! - The server nonce must extend the client nonce, the salt must be valid,
//!   non-empty base64, a mandatory extension (`m=`) is refused, and the server
//!   signature (`v=`) is compared in constant time. A `<success/>` that does
//!   not prove the server knows the password is refused.
//! - Credentials must be printable ASCII (no SASLprep): for such strings
//!   SASLprep (RFC 4013) is the identity, so both sides agree without it.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The XML namespace of SASL negotiation in XMPP (RFC 6120 §6.4).
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

/// The default upper bound on the PBKDF2 iteration count a server may ask for.
pub const DEFAULT_MAX_ITERATIONS: u32 = 100_000;

/// The fewest random bytes accepted for the SCRAM client nonce (96 bits);
/// 24 are recommended.
pub const MIN_NONCE_BYTES: usize = 12;

/// The longest username or password accepted, in bytes (RFC 4616's limit).
pub const MAX_CREDENTIAL_BYTES: usize = 255;

/// The GS2 header: no channel binding, no authorization identity.
const GS2_HEADER: &str = "n,,";

/// A SASL mechanism this client implements, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-1` (RFC 5802).
    ScramSha1,
    /// `PLAIN` (RFC 4616): the password in clear, so only over TLS.
    Plain,
    /// `ANONYMOUS` (RFC 4505): no credentials.
    Anonymous,
}

impl Mechanism {
    /// The mechanisms that use credentials, in order of preference.
    const WITH_CREDENTIALS: [Mechanism; 3] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
    ];

    /// The registered name, as in `<mechanism>` and `<auth mechanism=…>`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::Plain => "PLAIN",
            Mechanism::Anonymous => "ANONYMOUS",
        }
    }

    /// The mechanism with this registered name, if this client implements it.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::ScramSha256,
            Mechanism::ScramSha1,
            Mechanism::Plain,
            Mechanism::Anonymous,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which credential a [`SaslError::Credential`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialField {
    /// The username (authentication identity).
    Username,
    /// The password.
    Password,
}

impl fmt::Display for CredentialField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialField::Username => "username",
            CredentialField::Password => "password",
        })
    }
}

/// What is wrong with a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialProblem {
    /// It is empty.
    Empty,
    /// It is longer than [`MAX_CREDENTIAL_BYTES`].
    TooLong,
    /// It has a character outside printable ASCII; SASLprep, which such
    /// strings would need, is not implemented.
    NotPrintableAscii,
}

impl fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialProblem::Empty => "is empty",
            CredentialProblem::TooLong => "is longer than 255 bytes",
            CredentialProblem::NotPrintableAscii => {
                "has a character outside printable ASCII (SASLprep is not supported)"
            }
        })
    }
}

/// A username and password, checked to be non-empty printable ASCII of at
/// most [`MAX_CREDENTIAL_BYTES`] bytes each.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Checks and keeps a username (the local part, e.g. `alice` for
    /// `alice@example.org`) and its password.
    pub fn new(username: &str, password: &str) -> Result<Credentials, SaslError> {
        check_credential(CredentialField::Username, username)?;
        check_credential(CredentialField::Password, password)?;
        Ok(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

fn check_credential(field: CredentialField, value: &str) -> Result<(), SaslError> {
    let problem = if value.is_empty() {
        CredentialProblem::Empty
    } else if value.len() > MAX_CREDENTIAL_BYTES {
        CredentialProblem::TooLong
    } else if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        CredentialProblem::NotPrintableAscii
    } else {
        return Ok(());
    };
    Err(SaslError::Credential { field, problem })
}

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslConfig {
    /// The account's credentials; `None` logs in with ANONYMOUS.
    pub credentials: Option<Credentials>,
    /// Allow PLAIN on a stream without TLS. Only for tests on loopback: the
    /// password would cross the network in clear.
    pub allow_plain_without_tls: bool,
    /// The highest PBKDF2 iteration count accepted from a SCRAM server.
    pub max_iterations: u32,
}

impl Default for SaslConfig {
    /// Anonymous, PLAIN only over TLS, [`DEFAULT_MAX_ITERATIONS`].
    fn default() -> Self {
        SaslConfig {
            credentials: None,
            allow_plain_without_tls: false,
            max_iterations: DEFAULT_MAX_ITERATIONS,
        }
    }
}

/// Chooses the mechanism to use from the names the server offers (the text
/// of each `<mechanism>`): with credentials, SCRAM-SHA-256, then SCRAM-SHA-1,
/// then PLAIN if `tls` is true or [`SaslConfig::allow_plain_without_tls`] is
/// set; without credentials, ANONYMOUS. Credentials are never dropped for
/// ANONYMOUS, nor ANONYMOUS replaced by a login.
pub fn choose<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    config: &SaslConfig,
    tls: bool,
) -> Result<Mechanism, SaslError> {
    let offered: Vec<&str> = offered.into_iter().map(str::trim).collect();
    let is_offered = |m: Mechanism| offered.contains(&m.name());
    let listed = || offered.join(" ");
    if config.credentials.is_none() {
        return if is_offered(Mechanism::Anonymous) {
            Ok(Mechanism::Anonymous)
        } else {
            Err(SaslError::NoMechanism {
                wanted: "ANONYMOUS (no credentials given)",
                offered: listed(),
            })
        };
    }
    let plain_allowed = tls || config.allow_plain_without_tls;
    for m in Mechanism::WITH_CREDENTIALS {
        if is_offered(m) && (m != Mechanism::Plain || plain_allowed) {
            return Ok(m);
        }
    }
    if is_offered(Mechanism::Plain) {
        return Err(SaslError::PlainWithoutTls);
    }
    Err(SaslError::NoMechanism {
        wanted: "SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN",
        offered: listed(),
    })
}

/// Chooses a mechanism ([`choose`]), starts it, and returns the client with
/// the `<auth/>` element to send. `nonce` is at least [`MIN_NONCE_BYTES`]
/// fresh random bytes (used by SCRAM only; base64 makes them printable).
pub fn start<'a>(
    config: &SaslConfig,
    offered: impl IntoIterator<Item = &'a str>,
    tls: bool,
    nonce: &[u8],
) -> Result<(SaslClient, String), SaslError> {
    let mechanism = choose(offered, config, tls)?;
    let (client, initial) = SaslClient::new(mechanism, config, nonce)?;
    let auth = auth_element(mechanism, &initial);
    Ok((client, auth))
}

/// The `<auth/>` element that starts `mechanism` with an initial response
/// (an empty one is written `=`, RFC 6120 §6.4.2).
pub fn auth_element(mechanism: Mechanism, initial_response: &[u8]) -> String {
    let name = proxy_core::xml::escape(mechanism.name());
    let text = base64_text(initial_response);
    format!("<auth xmlns='{NS_SASL}' mechanism='{name}'>{text}</auth>")
}

/// The `<response/>` element answering a challenge (empty data is `=`).
pub fn response_element(data: &[u8]) -> String {
    format!(
        "<response xmlns='{NS_SASL}'>{}</response>",
        base64_text(data)
    )
}

/// The `<abort/>` element that ends a negotiation from the client side.
pub fn abort_element() -> String {
    format!("<abort xmlns='{NS_SASL}'/>")
}

/// Base64 text of an element, `=` for no data (RFC 6120 §6.4.2).
fn base64_text(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        // Base64 (A–Z, a–z, 0–9, `+`, `/`, `=`) has no character XML
        // must escape.
        BASE64.encode(data)
    }
}

/// Decodes the text of a `<challenge>` or `<success>`: empty or `=` is no
/// data, anything else must be base64.
fn decode_element_text(text: &str, element: &'static str) -> Result<Vec<u8>, SaslError> {
    let text = text.trim_ascii();
    if text.is_empty() || text == "=" {
        return Ok(Vec::new());
    }
    BASE64
        .decode(text)
        .map_err(|_| SaslError::Base64 { element })
}

/// A `<failure/>` condition (RFC 6120 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureCondition {
    /// `aborted`: the client aborted.
    Aborted,
    /// `account-disabled`.
    AccountDisabled,
    /// `credentials-expired`.
    CredentialsExpired,
    /// `encryption-required`: the mechanism needs TLS.
    EncryptionRequired,
    /// `incorrect-encoding`: the data was not valid base64.
    IncorrectEncoding,
    /// `invalid-authzid`.
    InvalidAuthzid,
    /// `invalid-mechanism`: the server does not support the mechanism.
    InvalidMechanism,
    /// `malformed-request`.
    MalformedRequest,
    /// `mechanism-too-weak`.
    MechanismTooWeak,
    /// `not-authorized`: wrong username or password.
    NotAuthorized,
    /// `temporary-auth-failure`: worth trying again later.
    TemporaryAuthFailure,
    /// Any other condition, by its element name (empty if there was none).
    Other(String),
}

impl FailureCondition {
    const KNOWN: [(&'static str, FailureCondition); 11] = [
        ("aborted", FailureCondition::Aborted),
        ("account-disabled", FailureCondition::AccountDisabled),
        ("credentials-expired", FailureCondition::CredentialsExpired),
        ("encryption-required", FailureCondition::EncryptionRequired),
        ("incorrect-encoding", FailureCondition::IncorrectEncoding),
        ("invalid-authzid", FailureCondition::InvalidAuthzid),
        ("invalid-mechanism", FailureCondition::InvalidMechanism),
        ("malformed-request", FailureCondition::MalformedRequest),
        ("mechanism-too-weak", FailureCondition::MechanismTooWeak),
        ("not-authorized", FailureCondition::NotAuthorized),
        (
            "temporary-auth-failure",
            FailureCondition::TemporaryAuthFailure,
        ),
    ];

    /// The condition named by this element name.
    pub fn from_name(name: &str) -> FailureCondition {
        Self::KNOWN.iter().find(|(n, _)| *n == name).map_or_else(
            || FailureCondition::Other(name.to_owned()),
            |(_, c)| c.clone(),
        )
    }

    /// The element name.
    pub fn name(&self) -> &str {
        match self {
            FailureCondition::Other(name) => name,
            known => Self::KNOWN
                .iter()
                .find(|(_, c)| c == known)
                .map_or("", |(n, _)| n),
        }
    }
}

impl fmt::Display for FailureCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A SCRAM `server-error-value` (the `e=` of RFC 5802 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScramServerError {
    /// `invalid-encoding`.
    InvalidEncoding,
    /// `extensions-not-supported`.
    ExtensionsNotSupported,
    /// `invalid-proof`: wrong password.
    InvalidProof,
    /// `channel-bindings-dont-match`.
    ChannelBindingsDontMatch,
    /// `server-does-support-channel-binding`.
    ServerDoesSupportChannelBinding,
    /// `channel-binding-not-supported`.
    ChannelBindingNotSupported,
    /// `unsupported-channel-binding-type`.
    UnsupportedChannelBindingType,
    /// `unknown-user`.
    UnknownUser,
    /// `invalid-username-encoding`.
    InvalidUsernameEncoding,
    /// `no-resources`.
    NoResources,
    /// `other-error`.
    OtherError,
    /// A value this client does not know.
    Other(String),
}

impl ScramServerError {
    const KNOWN: [(&'static str, ScramServerError); 11] = [
        ("invalid-encoding", ScramServerError::InvalidEncoding),
        (
            "extensions-not-supported",
            ScramServerError::ExtensionsNotSupported,
        ),
        ("invalid-proof", ScramServerError::InvalidProof),
        (
            "channel-bindings-dont-match",
            ScramServerError::ChannelBindingsDontMatch,
        ),
        (
            "server-does-support-channel-binding",
            ScramServerError::ServerDoesSupportChannelBinding,
        ),
        (
            "channel-binding-not-supported",
            ScramServerError::ChannelBindingNotSupported,
        ),
        (
            "unsupported-channel-binding-type",
            ScramServerError::UnsupportedChannelBindingType,
        ),
        ("unknown-user", ScramServerError::UnknownUser),
        (
            "invalid-username-encoding",
            ScramServerError::InvalidUsernameEncoding,
        ),
        ("no-resources", ScramServerError::NoResources),
        ("other-error", ScramServerError::OtherError),
    ];

    /// The error named by this value.
    pub fn from_value(value: &str) -> ScramServerError {
        Self::KNOWN.iter().find(|(n, _)| *n == value).map_or_else(
            || ScramServerError::Other(value.to_owned()),
            |(_, e)| e.clone(),
        )
    }

    /// The value as written after `e=`.
    pub fn value(&self) -> &str {
        match self {
            ScramServerError::Other(value) => value,
            known => Self::KNOWN
                .iter()
                .find(|(_, e)| e == known)
                .map_or("", |(n, _)| n),
        }
    }
}

impl fmt::Display for ScramServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.value())
    }
}

/// Which SCRAM message a [`SaslError::MalformedScram`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramMessage {
    /// The server-first-message (`r=…,s=…,i=…`).
    ServerFirst,
    /// The server-final-message (`v=…` or `e=…`).
    ServerFinal,
}

impl fmt::Display for ScramMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScramMessage::ServerFirst => "server-first-message",
            ScramMessage::ServerFinal => "server-final-message",
        })
    }
}

/// Why authentication did not succeed. After any of these the
/// [`SaslClient`] is finished; only [`SaslError::is_temporary`] errors are
/// worth a new attempt with the same credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// A credential cannot be used.
    #[error("the {field} {problem}")]
    Credential {
        /// Which one.
        field: CredentialField,
        /// What is wrong with it.
        problem: CredentialProblem,
    },
    /// The caller gave fewer than [`MIN_NONCE_BYTES`] random bytes.
    #[error("the SCRAM nonce has {0} random bytes, fewer than {MIN_NONCE_BYTES}")]
    NonceTooShort(usize),
    /// The server offers no mechanism this client may use.
    #[error("the server offers no usable SASL mechanism: wanted {wanted}, offered [{offered}]")]
    NoMechanism {
        /// What the client was looking for.
        wanted: &'static str,
        /// The offered names, space-separated.
        offered: String,
    },
    /// A mechanism other than ANONYMOUS was started without credentials.
    #[error("{0} needs credentials, and none were given")]
    MissingCredentials(Mechanism),
    /// The only usable mechanism is PLAIN, and the stream is not encrypted.
    #[error("the server offers only PLAIN, which would send the password in clear without TLS")]
    PlainWithoutTls,
    /// The server answered with `<failure/>`.
    #[error("the server refused authentication: {condition}{}", text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Failure {
        /// The condition.
        condition: FailureCondition,
        /// The server's human-readable `<text>`, if any.
        text: Option<String>,
    },
    /// A SCRAM server-final-message with `e=`.
    #[error("the SCRAM server reported an error: {0}")]
    ScramServer(ScramServerError),
    /// The text of a `<challenge>` or `<success>` is not base64.
    #[error("the text of <{element}> is not valid base64")]
    Base64 {
        /// The element name.
        element: &'static str,
    },
    /// A SCRAM message does not follow RFC 5802's grammar.
    #[error("malformed SCRAM {message}: {detail}")]
    MalformedScram {
        /// Which message.
        message: ScramMessage,
        /// What is wrong (a fixed description).
        detail: &'static str,
    },
    /// The server-first-message has a mandatory extension (`m=`), which this
    /// client does not support.
    #[error("the SCRAM server requires an extension (m=), which is not supported")]
    MandatoryExtension,
    /// The server nonce does not extend the client nonce.
    #[error("the SCRAM server nonce does not extend the client nonce")]
    NonceMismatch,
    /// The iteration count is 0 or above the configured limit.
    #[error("the SCRAM iteration count {count} is outside 1..={max}")]
    IterationCount {
        /// The count the server asked for (saturated at `u64::MAX`).
        count: u64,
        /// The configured limit.
        max: u32,
    },
    /// The server signature (`v=`) is wrong: the server does not know the
    /// password, or the exchange was tampered with.
    #[error("the SCRAM server signature is wrong")]
    ServerSignatureMismatch,
    /// The server reported success without proving it knows the password.
    #[error("the server reported SCRAM success without a server signature")]
    ServerSignatureMissing,
    /// An element that does not fit the negotiation's current step.
    #[error("unexpected <{element}> {state}")]
    Unexpected {
        /// The element name.
        element: &'static str,
        /// Where the negotiation was.
        state: &'static str,
    },
}

impl SaslError {
    /// Whether trying again later may succeed: `temporary-auth-failure` or
    /// SCRAM's `no-resources`. Wrong credentials and protocol errors are
    /// final.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            SaslError::Failure {
                condition: FailureCondition::TemporaryAuthFailure,
                ..
            } | SaslError::ScramServer(ScramServerError::NoResources)
        )
    }
}

/// An element of the SASL namespace from the server, as the stream layer
/// parsed it: the element's local name and text content, and for a
/// `<failure>` the local name of its condition child and the text of its
/// `<text>` child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerElement<'a> {
    /// `<challenge>`: its text (base64, `=` or empty).
    Challenge(&'a str),
    /// `<success>`: its text (base64, `=` or empty).
    Success(&'a str),
    /// `<failure>`.
    Failure {
        /// The local name of the condition child (empty if there was none).
        condition: &'a str,
        /// The text of the `<text>` child, if any.
        text: Option<&'a str>,
    },
}

impl<'a> ServerElement<'a> {
    /// The element from its local name and text content; `None` for a name
    /// that is not `challenge`, `success` or `failure`. For `failure`, the
    /// text content is ignored and the condition is empty: use
    /// [`ServerElement::failure`] when the children were parsed.
    pub fn from_parts(local_name: &str, text: &'a str) -> Option<ServerElement<'a>> {
        match local_name {
            "challenge" => Some(ServerElement::Challenge(text)),
            "success" => Some(ServerElement::Success(text)),
            "failure" => Some(ServerElement::failure("", None)),
            _ => None,
        }
    }

    /// A `<failure>` with its condition child's local name and `<text>`.
    pub fn failure(condition: &'a str, text: Option<&'a str>) -> ServerElement<'a> {
        ServerElement::Failure { condition, text }
    }
}

/// What to do after [`SaslClient::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this `<response/>` element.
    Respond(String),
    /// Authenticated: restart the stream (RFC 6120 §6.4.6).
    Success,
}

/// The SCRAM hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    /// `Hi()`: PBKDF2 with HMAC over this hash.
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                pbkdf2::pbkdf2_hmac_array::<Sha1, 20>(password, salt, iterations).to_vec()
            }
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        match self {
            ScramHash::Sha1 => {
                let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn h(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// Where the negotiation is.
enum State {
    /// PLAIN or ANONYMOUS sent its only message; waiting for `<success/>`.
    AwaitSuccess,
    /// SCRAM sent its client-first-message; waiting for the server-first.
    ScramFirst {
        hash: ScramHash,
        /// `client-first-message-bare`, part of the AuthMessage.
        client_first_bare: String,
        client_nonce: String,
        password: String,
        max_iterations: u32,
    },
    /// SCRAM sent its client-final-message; waiting for the server's proof.
    ScramFinal { server_signature: Vec<u8> },
    /// SCRAM verified the server's proof in a challenge; waiting for
    /// `<success/>`.
    ScramVerified,
    /// Authenticated, or failed: the negotiation is over.
    Done,
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            State::AwaitSuccess => "while waiting for the server's verdict",
            State::ScramFirst { .. } => "while waiting for the SCRAM server-first-message",
            State::ScramFinal { .. } => "while waiting for the SCRAM server-final-message",
            State::ScramVerified => "after the server's proof, while waiting for <success/>",
            State::Done => "after the negotiation ended",
        }
    }
}

/// The client side of one SASL negotiation.
///
/// Inputs: [`SaslClient::handle`] for XMPP elements, or the byte-level
/// [`SaslClient::challenge`] and [`SaslClient::success`] for another
/// protocol. Once it returns an error or success, the client is done and
/// refuses further input.
pub struct SaslClient {
    mechanism: Mechanism,
    state: State,
}

impl fmt::Debug for SaslClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslClient")
            .field("mechanism", &self.mechanism)
            .field("state", &self.state.describe())
            .finish()
    }
}

impl SaslClient {
    /// Starts `mechanism` with the credentials of `config` (none for
    /// ANONYMOUS; required for the others) and returns the client with its
    /// initial response. `nonce` holds at least [`MIN_NONCE_BYTES`] random
    /// bytes for SCRAM (ignored by the others); it is sent base64-encoded.
    pub fn new(
        mechanism: Mechanism,
        config: &SaslConfig,
        nonce: &[u8],
    ) -> Result<(SaslClient, Vec<u8>), SaslError> {
        let credentials = || {
            config
                .credentials
                .as_ref()
                .ok_or(SaslError::MissingCredentials(mechanism))
        };
        let hash = match mechanism {
            Mechanism::Anonymous => {
                // RFC 4505: the message is optional trace information; send none.
                return Ok((SaslClient::with(mechanism, State::AwaitSuccess), Vec::new()));
            }
            Mechanism::Plain => {
                let c = credentials()?;
                // RFC 4616: [authzid] NUL authcid NUL passwd, no authzid.
                let message = format!("\0{}\0{}", c.username, c.password).into_bytes();
                return Ok((SaslClient::with(mechanism, State::AwaitSuccess), message));
            }
            Mechanism::ScramSha1 => ScramHash::Sha1,
            Mechanism::ScramSha256 => ScramHash::Sha256,
        };
        let c = credentials()?;
        if nonce.len() < MIN_NONCE_BYTES {
            return Err(SaslError::NonceTooShort(nonce.len()));
        }
        let client_nonce = BASE64.encode(nonce);
        let client_first_bare = format!("n={},r={client_nonce}", escape_saslname(&c.username));
        let message = format!("{GS2_HEADER}{client_first_bare}").into_bytes();
        let state = State::ScramFirst {
            hash,
            client_first_bare,
            client_nonce,
            password: c.password.clone(),
            max_iterations: config.max_iterations,
        };
        Ok((SaslClient::with(mechanism, state), message))
    }

    fn with(mechanism: Mechanism, state: State) -> SaslClient {
        SaslClient { mechanism, state }
    }

    /// The mechanism in use.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether the negotiation is over (success or failure).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Handles an element of the SASL namespace from the server.
    pub fn handle(&mut self, element: ServerElement<'_>) -> Result<Step, SaslError> {
        match element {
            ServerElement::Challenge(text) => {
                let data = decode_element_text(text, "challenge").inspect_err(|_| self.finish())?;
                self.challenge(&data)
                    .map(|r| Step::Respond(response_element(&r)))
            }
            ServerElement::Success(text) => {
                let data = decode_element_text(text, "success").inspect_err(|_| self.finish())?;
                self.success(&data).map(|()| Step::Success)
            }
            ServerElement::Failure { condition, text } => {
                self.finish();
                Err(SaslError::Failure {
                    condition: FailureCondition::from_name(condition),
                    text: text.map(str::to_owned),
                })
            }
        }
    }

    fn finish(&mut self) {
        self.state = State::Done;
    }

    /// Handles a decoded challenge and returns the response data.
    pub fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::ScramFirst {
                hash,
                client_first_bare,
                client_nonce,
                password,
                max_iterations,
            } => {
                let first = ServerFirst::parse(data, &client_nonce, max_iterations)?;
                let salted = hash.hi(password.as_bytes(), &first.salt, first.iterations);
                let client_key = hash.hmac(&salted, b"Client Key");
                let stored_key = hash.h(&client_key);
                // `c=` is base64 of the GS2 header: "n,," is "biws".
                let without_proof = format!("c={},r={}", BASE64.encode(GS2_HEADER), first.nonce);
                let auth_message = format!("{client_first_bare},{},{without_proof}", first.message);
                let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
                let proof: Vec<u8> = client_key
                    .iter()
                    .zip(&client_signature)
                    .map(|(k, s)| k ^ s)
                    .collect();
                let server_key = hash.hmac(&salted, b"Server Key");
                let server_signature = hash.hmac(&server_key, auth_message.as_bytes());
                self.state = State::ScramFinal { server_signature };
                Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
            }
            State::ScramFinal { server_signature } => {
                // The server-final-message as a challenge: verify it and
                // answer with an empty response (RFC 6120 §6.4.3).
                verify_server_final(data, &server_signature)?;
                self.state = State::ScramVerified;
                Ok(Vec::new())
            }
            state => Err(SaslError::Unexpected {
                element: "challenge",
                state: state.describe(),
            }),
        }
    }

    /// Handles `<success/>` with its decoded additional data (empty if none).
    pub fn success(&mut self, data: &[u8]) -> Result<(), SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitSuccess | State::ScramVerified if data.is_empty() => Ok(()),
            State::ScramFinal { .. } if data.is_empty() => Err(SaslError::ServerSignatureMissing),
            State::ScramFinal { server_signature } => verify_server_final(data, &server_signature),
            state => Err(SaslError::Unexpected {
                element: "success",
                state: state.describe(),
            }),
        }
    }
}

/// `saslname` (RFC 5802 §5.1): `=` as `=3D` and `,` as `=2C`.
fn escape_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The parts of a server-first-message the client uses.
struct ServerFirst<'a> {
    /// The whole message, part of the AuthMessage.
    message: &'a str,
    nonce: &'a str,
    salt: Vec<u8>,
    iterations: u32,
}

impl<'a> ServerFirst<'a> {
    /// Parses and checks `[m=…,]r=…,s=…,i=…[,ext…]`.
    fn parse(
        data: &'a [u8],
        client_nonce: &str,
        max_iterations: u32,
    ) -> Result<ServerFirst<'a>, SaslError> {
        let malformed = |detail| SaslError::MalformedScram {
            message: ScramMessage::ServerFirst,
            detail,
        };
        let message = std::str::from_utf8(data).map_err(|_| malformed("not UTF-8"))?;
        let mut attrs = message.split(',');
        let mut next = |key: u8, missing: &'static str| {
            attrs
                .next()
                .and_then(|a| a.strip_prefix(key as char))
                .and_then(|a| a.strip_prefix('='))
                .ok_or_else(|| malformed(missing))
        };
        if message.starts_with("m=") {
            return Err(SaslError::MandatoryExtension);
        }
        if let Some(value) = message.strip_prefix("e=") {
            // Not in the grammar here, but a server error is clearer than
            // "malformed".
            return Err(SaslError::ScramServer(ScramServerError::from_value(value)));
        }
        let nonce = next(b'r', "expected r= (the nonce) first")?;
        let salt = next(b's', "expected s= (the salt) after the nonce")?;
        let iterations = next(b'i', "expected i= (the iteration count) after the salt")?;
        if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(malformed(
                "the nonce has a character outside printable ASCII",
            ));
        }
        match nonce.strip_prefix(client_nonce) {
            Some(server_part) if !server_part.is_empty() => {}
            _ => return Err(SaslError::NonceMismatch),
        }
        let salt = BASE64
            .decode(salt)
            .map_err(|_| malformed("the salt is not valid base64"))?;
        if salt.is_empty() {
            return Err(malformed("the salt is empty"));
        }
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("the iteration count is not a decimal number"));
        }
        let count = iterations.parse::<u64>().unwrap_or(u64::MAX);
        let iterations = match u32::try_from(count) {
            Ok(i) if (1..=max_iterations).contains(&i) => i,
            _ => {
                return Err(SaslError::IterationCount {
                    count,
                    max: max_iterations,
                });
            }
        };
        Ok(ServerFirst {
            message,
            nonce,
            salt,
            iterations,
        })
    }
}

/// Checks a server-final-message (`v=…` or `e=…`, then optional extensions).
fn verify_server_final(data: &[u8], expected: &[u8]) -> Result<(), SaslError> {
    let malformed = |detail| SaslError::MalformedScram {
        message: ScramMessage::ServerFinal,
        detail,
    };
    let message = std::str::from_utf8(data).map_err(|_| malformed("not UTF-8"))?;
    let first = message.split(',').next().unwrap_or_default();
    if let Some(value) = first.strip_prefix("e=") {
        return Err(SaslError::ScramServer(ScramServerError::from_value(value)));
    }
    let verifier = first
        .strip_prefix("v=")
        .ok_or_else(|| malformed("expected v= (the server signature) or e="))?;
    let verifier = BASE64
        .decode(verifier)
        .map_err(|_| malformed("the server signature is not valid base64"))?;
    if constant_time_eq(&verifier, expected) {
        Ok(())
    } else {
        Err(SaslError::ServerSignatureMismatch)
    }
}

/// Compares two byte strings in time that depends on their lengths only (the
/// lengths are public: they are the hash's output size).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimizer from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_every_byte() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"xbc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn saslname_escaping() {
        assert_eq!(escape_saslname("a=b,c"), "a=3Db=2Cc");
        assert_eq!(escape_saslname("=,"), "=3D=2C");
        assert_eq!(escape_saslname("plain"), "plain");
    }

    #[test]
    fn wire_enums_round_trip() {
        for (name, c) in FailureCondition::KNOWN {
            assert_eq!(FailureCondition::from_name(name), c);
            assert_eq!(c.name(), name);
        }
        assert_eq!(
            FailureCondition::from_name("bogus"),
            FailureCondition::Other("bogus".into())
        );
        for (value, e) in ScramServerError::KNOWN {
            assert_eq!(ScramServerError::from_value(value), e);
            assert_eq!(e.value(), value);
        }
    }
}

//! SASL: the RFC 5802 and RFC 7677 exchanges, the checks a hostile server
//! meets, PLAIN and ANONYMOUS payloads, and mechanism choice.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use proptest::prelude::*;
use proxy_xmpp::sasl::{
    self, CredentialField, CredentialProblem, Credentials, FailureCondition, Mechanism, SaslClient,
    SaslConfig, SaslError, ScramMessage, ScramServerError, ServerElement, Step,
};

/// RFC 5802 §5, SCRAM-SHA-1, user `user`, password `pencil`.
mod rfc5802 {
    pub const NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
    pub const CLIENT_FIRST: &str = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    pub const SERVER_FIRST: &str =
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    pub const CLIENT_FINAL: &str =
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    pub const SERVER_FINAL: &str = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";
}

/// RFC 7677 §3, SCRAM-SHA-256, user `user`, password `pencil`.
mod rfc7677 {
    pub const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    pub const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    pub const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    pub const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    pub const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
}

fn config(user: &str, password: &str) -> SaslConfig {
    SaslConfig {
        credentials: Some(Credentials::new(user, password).unwrap()),
        ..SaslConfig::default()
    }
}

/// The random bytes whose base64 is the RFC's printable nonce.
fn nonce_bytes(printable: &str) -> Vec<u8> {
    BASE64.decode(printable).unwrap()
}

fn b64(s: &str) -> String {
    BASE64.encode(s)
}

/// A SCRAM-SHA-1 client after the RFC 5802 client-first-message.
fn scram_sha1(config: &SaslConfig) -> SaslClient {
    let (client, first) =
        SaslClient::new(Mechanism::ScramSha1, config, &nonce_bytes(rfc5802::NONCE)).unwrap();
    assert_eq!(first, rfc5802::CLIENT_FIRST.as_bytes());
    client
}

/// Feeds a server-first-message as a `<challenge>`.
fn challenge(client: &mut SaslClient, message: &str) -> Result<Step, SaslError> {
    client.handle(ServerElement::Challenge(&b64(message)))
}

#[test]
fn rfc5802_exchange_over_xmpp_elements() {
    let config = config("user", "pencil");
    let (mut client, auth) = sasl::start(
        &config,
        ["PLAIN", "SCRAM-SHA-1"],
        true,
        &nonce_bytes(rfc5802::NONCE),
    )
    .unwrap();
    assert_eq!(client.mechanism(), Mechanism::ScramSha1);
    assert_eq!(
        auth,
        format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{}</auth>",
            b64(rfc5802::CLIENT_FIRST)
        )
    );
    let step = challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    assert_eq!(
        step,
        Step::Respond(format!(
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
            b64(rfc5802::CLIENT_FINAL)
        ))
    );
    assert!(!client.is_done());
    let step = client
        .handle(ServerElement::Success(&b64(rfc5802::SERVER_FINAL)))
        .unwrap();
    assert_eq!(step, Step::Success);
    assert!(client.is_done());
}

#[test]
fn rfc7677_exchange_bytes() {
    let config = config("user", "pencil");
    let (mut client, first) = SaslClient::new(
        Mechanism::ScramSha256,
        &config,
        &nonce_bytes(rfc7677::NONCE),
    )
    .unwrap();
    assert_eq!(String::from_utf8(first).unwrap(), rfc7677::CLIENT_FIRST);
    let last = client.challenge(rfc7677::SERVER_FIRST.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(last).unwrap(), rfc7677::CLIENT_FINAL);
    client.success(rfc7677::SERVER_FINAL.as_bytes()).unwrap();
    assert!(client.is_done());
}

#[test]
fn server_final_in_a_challenge_then_empty_success() {
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    let step = challenge(&mut client, rfc5802::SERVER_FINAL).unwrap();
    assert_eq!(
        step,
        Step::Respond("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</response>".into())
    );
    assert_eq!(client.handle(ServerElement::Success("")), Ok(Step::Success));
}

#[test]
fn success_without_server_signature_is_refused() {
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    assert_eq!(
        client.handle(ServerElement::Success("=")),
        Err(SaslError::ServerSignatureMissing)
    );
    // And success before any exchange at all.
    let mut client = scram_sha1(&config("user", "pencil"));
    assert!(matches!(
        client.handle(ServerElement::Success("")),
        Err(SaslError::Unexpected {
            element: "success",
            ..
        })
    ));
}

#[test]
fn wrong_server_signature_is_refused() {
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    // The SHA-256 vector's signature, and the right one with a flipped bit.
    let mut flipped = BASE64.decode(&rfc5802::SERVER_FINAL[2..]).unwrap();
    flipped[19] ^= 1;
    for v in [
        rfc7677::SERVER_FINAL.to_owned(),
        format!("v={}", BASE64.encode(&flipped)),
    ] {
        let mut c = scram_sha1(&config("user", "pencil"));
        challenge(&mut c, rfc5802::SERVER_FIRST).unwrap();
        assert_eq!(
            c.handle(ServerElement::Success(&b64(&v))),
            Err(SaslError::ServerSignatureMismatch)
        );
    }
    // A server that does not know the password computes another signature.
    let mut client = scram_sha1(&config("user", "pencil2"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    assert_eq!(
        client.handle(ServerElement::Success(&b64(rfc5802::SERVER_FINAL))),
        Err(SaslError::ServerSignatureMismatch)
    );
}

#[test]
fn server_nonce_must_extend_ours() {
    for first in [
        // Another client nonce.
        "r=gyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        // Ours cut short.
        "r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096",
        // Ours, with nothing from the server.
        "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
    ] {
        let mut client = scram_sha1(&config("user", "pencil"));
        assert_eq!(
            challenge(&mut client, first),
            Err(SaslError::NonceMismatch),
            "{first}"
        );
        assert!(client.is_done());
    }
}

#[test]
fn iteration_count_is_bounded() {
    let first =
        |i: &str| format!("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i={i}");
    let default_max = sasl::DEFAULT_MAX_ITERATIONS;
    for (i, count) in [
        ("0", 0),
        (
            &*(default_max as u64 + 1).to_string(),
            default_max as u64 + 1,
        ),
        ("4294967295", u32::MAX as u64),
        ("99999999999999999999999", u64::MAX),
    ] {
        let mut client = scram_sha1(&config("user", "pencil"));
        assert_eq!(
            challenge(&mut client, &first(i)),
            Err(SaslError::IterationCount {
                count,
                max: default_max
            }),
            "i={i}"
        );
    }
    // A lower configured limit refuses the RFC's 4096.
    let mut low = config("user", "pencil");
    low.max_iterations = 4095;
    let mut client = scram_sha1(&low);
    assert_eq!(
        challenge(&mut client, rfc5802::SERVER_FIRST),
        Err(SaslError::IterationCount {
            count: 4096,
            max: 4095
        })
    );
    for i in ["", "+5", "-1", "4096 ", "0x10"] {
        let mut client = scram_sha1(&config("user", "pencil"));
        assert!(
            matches!(
                challenge(&mut client, &first(i)),
                Err(SaslError::MalformedScram {
                    message: ScramMessage::ServerFirst,
                    ..
                })
            ),
            "i={i:?}"
        );
    }
}

#[test]
fn bad_base64_is_refused() {
    // In the salt.
    for salt in ["QSXCR+Q6sek8bf9", "QSXCR+Q6sek8bf92!", ""] {
        let mut client = scram_sha1(&config("user", "pencil"));
        let first = format!("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s={salt},i=4096");
        assert!(
            matches!(
                challenge(&mut client, &first),
                Err(SaslError::MalformedScram {
                    message: ScramMessage::ServerFirst,
                    ..
                })
            ),
            "salt {salt:?}"
        );
    }
    // In the element text.
    let mut client = scram_sha1(&config("user", "pencil"));
    assert_eq!(
        client.handle(ServerElement::Challenge("not base64!")),
        Err(SaslError::Base64 {
            element: "challenge"
        })
    );
    assert!(client.is_done());
    // In the server signature.
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    assert!(matches!(
        client.handle(ServerElement::Success(&b64("v=***"))),
        Err(SaslError::MalformedScram {
            message: ScramMessage::ServerFinal,
            ..
        })
    ));
}

#[test]
fn mandatory_extension_is_refused() {
    let mut client = scram_sha1(&config("user", "pencil"));
    let first = format!("m=ext,{}", rfc5802::SERVER_FIRST);
    assert_eq!(
        challenge(&mut client, &first),
        Err(SaslError::MandatoryExtension)
    );
    // Optional extensions after the iteration count are ignored.
    let mut client = scram_sha1(&config("user", "pencil"));
    let step = challenge(&mut client, &format!("{},x=ext", rfc5802::SERVER_FIRST));
    assert!(matches!(step, Ok(Step::Respond(_))));
}

#[test]
fn server_error_is_mapped() {
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    let err = client
        .handle(ServerElement::Success(&b64("e=invalid-proof")))
        .unwrap_err();
    assert_eq!(err, SaslError::ScramServer(ScramServerError::InvalidProof));
    assert!(!err.is_temporary());
    // In a challenge, and an unknown value.
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    assert_eq!(
        challenge(&mut client, "e=too-tired"),
        Err(SaslError::ScramServer(ScramServerError::Other(
            "too-tired".into()
        )))
    );
    let mut client = scram_sha1(&config("user", "pencil"));
    challenge(&mut client, rfc5802::SERVER_FIRST).unwrap();
    let err = challenge(&mut client, "e=no-resources").unwrap_err();
    assert!(err.is_temporary());
}

#[test]
fn failure_is_mapped() {
    let mut client = scram_sha1(&config("user", "pencil"));
    let err = client
        .handle(ServerElement::failure(
            "not-authorized",
            Some("Unable to authorize you"),
        ))
        .unwrap_err();
    assert_eq!(
        err,
        SaslError::Failure {
            condition: FailureCondition::NotAuthorized,
            text: Some("Unable to authorize you".into())
        }
    );
    assert_eq!(
        err.to_string(),
        "the server refused authentication: not-authorized (Unable to authorize you)"
    );
    assert!(!err.is_temporary());
    assert!(client.is_done());
    // Nothing more is accepted afterwards.
    assert!(matches!(
        challenge(&mut client, rfc5802::SERVER_FIRST),
        Err(SaslError::Unexpected { .. })
    ));
    let (mut client, _) =
        SaslClient::new(Mechanism::Anonymous, &SaslConfig::default(), &[]).unwrap();
    let err = client
        .handle(ServerElement::failure("temporary-auth-failure", None))
        .unwrap_err();
    assert!(err.is_temporary());
    let err = client
        .handle(ServerElement::failure("account-disabled", None))
        .unwrap_err();
    assert!(matches!(
        err,
        SaslError::Failure {
            condition: FailureCondition::AccountDisabled,
            text: None
        }
    ));
    assert_eq!(
        ServerElement::from_parts("failure", ""),
        Some(ServerElement::failure("", None))
    );
    assert_eq!(
        ServerElement::from_parts("success", "PQ=="),
        Some(ServerElement::Success("PQ=="))
    );
    assert_eq!(ServerElement::from_parts("mechanisms", ""), None);
}

#[test]
fn username_is_escaped() {
    let config = config("a=b,c", "pencil");
    let (_, first) = SaslClient::new(
        Mechanism::ScramSha256,
        &config,
        &nonce_bytes(rfc7677::NONCE),
    )
    .unwrap();
    assert_eq!(first, b"n,,n=a=3Db=2Cc,r=rOprNGfwEbeRWgbNEkqO");
    // PLAIN carries the name as is.
    let (_, plain) = SaslClient::new(Mechanism::Plain, &config, &[]).unwrap();
    assert_eq!(plain, b"\0a=b,c\0pencil");
}

#[test]
fn plain_and_anonymous_payloads() {
    let mut config = config("user", "pencil");
    config.allow_plain_without_tls = true;
    let (mut client, auth) = sasl::start(&config, ["PLAIN"], false, &[]).unwrap();
    assert_eq!(
        auth,
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHVzZXIAcGVuY2ls</auth>"
    );
    assert_eq!(
        BASE64.decode("AHVzZXIAcGVuY2ls").unwrap(),
        b"\0user\0pencil"
    );
    assert!(matches!(
        challenge(&mut client, "anything"),
        Err(SaslError::Unexpected {
            element: "challenge",
            ..
        })
    ));

    let (mut client, auth) =
        sasl::start(&SaslConfig::default(), ["ANONYMOUS", "PLAIN"], true, &[]).unwrap();
    assert_eq!(
        auth,
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'>=</auth>"
    );
    assert_eq!(client.handle(ServerElement::Success("")), Ok(Step::Success));
    // Additional data where none is expected.
    let (mut client, _) = sasl::start(&SaslConfig::default(), ["ANONYMOUS"], true, &[]).unwrap();
    assert!(matches!(
        client.handle(ServerElement::Success("PQ==")),
        Err(SaslError::Unexpected {
            element: "success",
            ..
        })
    ));
}

#[test]
fn mechanism_choice() {
    let with = config("user", "pencil");
    let anonymous = SaslConfig::default();
    let all = [
        "PLAIN",
        "ANONYMOUS",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "SCRAM-SHA-1-PLUS",
    ];
    assert_eq!(sasl::choose(all, &with, true), Ok(Mechanism::ScramSha256));
    assert_eq!(
        sasl::choose(all, &anonymous, true),
        Ok(Mechanism::Anonymous)
    );
    // Names as the text of <mechanism> may come with whitespace.
    assert_eq!(
        sasl::choose([" PLAIN ", "\n SCRAM-SHA-1\n"], &with, false),
        Ok(Mechanism::ScramSha1)
    );
    assert_eq!(sasl::choose(["PLAIN"], &with, true), Ok(Mechanism::Plain));
    assert_eq!(
        sasl::choose(["PLAIN"], &with, false),
        Err(SaslError::PlainWithoutTls)
    );
    let mut loopback = with.clone();
    loopback.allow_plain_without_tls = true;
    assert_eq!(
        sasl::choose(["PLAIN"], &loopback, false),
        Ok(Mechanism::Plain)
    );
    // Credentials are never dropped for ANONYMOUS, nor the reverse.
    assert!(matches!(
        sasl::choose(["ANONYMOUS", "SCRAM-SHA-1-PLUS"], &with, true),
        Err(SaslError::NoMechanism { .. })
    ));
    let err = sasl::choose(["PLAIN", "SCRAM-SHA-1"], &anonymous, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server offers no usable SASL mechanism: wanted ANONYMOUS (no credentials given), offered [PLAIN SCRAM-SHA-1]"
    );
    assert!(matches!(
        sasl::choose([], &with, true),
        Err(SaslError::NoMechanism { .. })
    ));
    assert_eq!(
        SaslClient::new(Mechanism::Plain, &anonymous, &[]).unwrap_err(),
        SaslError::MissingCredentials(Mechanism::Plain)
    );
    for m in [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
        Mechanism::Anonymous,
    ] {
        assert_eq!(Mechanism::from_name(m.name()), Some(m));
    }
}

#[test]
fn credentials_are_checked() {
    let problem = |user: &str, password: &str| match Credentials::new(user, password) {
        Err(SaslError::Credential { field, problem }) => Some((field, problem)),
        Err(other) => panic!("unexpected {other:?}"),
        Ok(_) => None,
    };
    use CredentialField::*;
    use CredentialProblem::*;
    assert_eq!(problem("", "pw"), Some((Username, Empty)));
    assert_eq!(problem("user", ""), Some((Password, Empty)));
    assert_eq!(
        problem("us\u{e9}r", "pw"),
        Some((Username, NotPrintableAscii))
    );
    assert_eq!(
        problem("user", "p\u{2003}w"),
        Some((Password, NotPrintableAscii))
    );
    assert_eq!(problem("user", "p\0w"), Some((Password, NotPrintableAscii)));
    assert_eq!(problem("user\n", "pw"), Some((Username, NotPrintableAscii)));
    assert_eq!(problem(&"u".repeat(256), "pw"), Some((Username, TooLong)));
    assert_eq!(problem(&"u".repeat(255), "p w~"), None);
    let err = Credentials::new("user", "mot de passe \u{e9}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the password has a character outside printable ASCII (SASLprep is not supported)"
    );
    // The password never appears in debug output.
    let c = Credentials::new("user", "pencil").unwrap();
    assert!(!format!("{c:?}").contains("pencil"));
}

#[test]
fn nonce_must_be_long_enough() {
    let config = config("user", "pencil");
    let short = [1u8; sasl::MIN_NONCE_BYTES - 1];
    assert_eq!(
        SaslClient::new(Mechanism::ScramSha1, &config, &short).unwrap_err(),
        SaslError::NonceTooShort(sasl::MIN_NONCE_BYTES - 1)
    );
    let (_, first) = SaslClient::new(Mechanism::ScramSha1, &config, &[0xff; 24]).unwrap();
    assert_eq!(
        first,
        format!("n,,n=user,r={}", BASE64.encode([0xff; 24])).as_bytes()
    );
}

/// A server-first-message built from parts that are often right, so the
/// property also reaches the later checks.
fn server_first() -> impl Strategy<Value = String> {
    let nonce = prop_oneof![
        Just(rfc5802::NONCE.to_owned()),
        "[!-~]{0,30}".prop_map(String::from),
    ];
    (
        nonce,
        "[!-+\\--~]{0,10}",
        "[A-Za-z0-9+/=]{0,12}",
        "[0-9+-]{0,12}",
        "(,[a-z]=[ -~]{0,8}){0,2}",
    )
        .prop_map(|(n, s, salt, i, ext)| format!("r={n}{s},s={salt},i={i}{ext}"))
}

proptest! {
    /// Whatever a server sends, the client answers or errs, and never panics.
    #[test]
    fn arbitrary_server_messages_never_panic(
        first in prop_oneof![server_first(), any::<String>()],
        raw_first in proptest::collection::vec(any::<u8>(), 0..64),
        last in prop_oneof![
            Just(rfc5802::SERVER_FINAL.to_owned()),
            "[ve]=[ -~]{0,40}".prop_map(String::from),
            any::<String>(),
        ],
        text in "[ -~]{0,40}",
        as_success in any::<bool>(),
    ) {
        let mut config = config("user", "pencil");
        config.max_iterations = 64;
        for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
            let mut client = SaslClient::new(mechanism, &config, &nonce_bytes(rfc5802::NONCE)).unwrap().0;
            if challenge(&mut client, &first).is_ok() {
                let element = if as_success {
                    ServerElement::Success
                } else {
                    ServerElement::Challenge
                };
                let _ = client.handle(element(&b64(&last)));
            }
            let mut client = SaslClient::new(mechanism, &config, &nonce_bytes(rfc5802::NONCE)).unwrap().0;
            let _ = client.challenge(&raw_first);
            let _ = client.handle(ServerElement::Challenge(&text));
            let _ = client.handle(ServerElement::Success(&text));
        }
    }
}

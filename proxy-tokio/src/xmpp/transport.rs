//! The sockets under an XMPP stream: TCP (plain, STARTTLS or direct TLS, through
//! rustls on aws-lc-rs) or a WebSocket (RFC 7395, `ws://` or `wss://`, subprotocol
//! `xmpp`). What goes over them is `proxy_xmpp::Client`'s business.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::XmppServer;

/// Bytes read from a TCP stream at a time.
const READ_CHUNK: usize = 16 * 1024;
/// How long a TCP connect, a TLS handshake or a WebSocket upgrade may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may wait for a server that does not read: then the
/// connection counts as lost (the task must not stall its timers behind it).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP stream, encrypted or not.
pub(super) enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An open transport.
pub(super) enum Transport {
    /// TCP c2s: bytes.
    Stream(Io),
    /// RFC 7395: one stanza per text message.
    Ws(Box<WebSocketStream<Io>>),
}

/// What a read gave.
pub(super) enum Read {
    Bytes(Vec<u8>),
    Frame(String),
    /// The peer closed (with what it said, if anything).
    Closed(Option<String>),
}

impl Transport {
    /// Reads what comes next (cancel-safe: nothing is lost if the future is
    /// dropped before it completes).
    pub(super) async fn read(&mut self) -> Read {
        match self {
            Transport::Stream(io) => {
                let mut buf = vec![0u8; READ_CHUNK];
                match io.read(&mut buf).await {
                    Ok(0) => Read::Closed(Some("the server closed the TCP connection".into())),
                    Ok(n) => {
                        buf.truncate(n);
                        Read::Bytes(buf)
                    }
                    Err(e) => Read::Closed(Some(format!("TCP read failed: {e}"))),
                }
            }
            Transport::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => return Read::Frame(text.as_str().to_owned()),
                    Some(Ok(Message::Close(frame))) => {
                        return Read::Closed(Some(match frame {
                            Some(f) => format!("WebSocket closed by the server ({})", f.code),
                            None => "WebSocket closed by the server".into(),
                        }))
                    }
                    // RFC 7395 §3.2: XMPP goes in text messages only.
                    Some(Ok(Message::Binary(_))) => return Read::Closed(Some(
                        "the server sent a binary WebSocket message (RFC 7395 allows text only)"
                            .into(),
                    )),
                    // Pings are answered by tungstenite on the next write or flush.
                    Some(Ok(_)) => {
                        if let Err(e) = ws.flush().await {
                            return Read::Closed(Some(format!("WebSocket write failed: {e}")));
                        }
                    }
                    Some(Err(e)) => return Read::Closed(Some(format!("WebSocket failed: {e}"))),
                    None => return Read::Closed(Some("WebSocket ended".into())),
                }
            },
        }
    }

    /// Writes bytes (TCP), within [`WRITE_TIMEOUT`].
    pub(super) async fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Stream(io) => {
                bounded(async {
                    io.write_all(bytes).await?;
                    io.flush().await
                })
                .await
            }
            Transport::Ws(_) => Err(io::Error::other("bytes for a WebSocket transport")),
        }
    }

    /// Sends one text message (WebSocket), within [`WRITE_TIMEOUT`].
    pub(super) async fn write_frame(&mut self, frame: String) -> io::Result<()> {
        match self {
            Transport::Ws(ws) => {
                bounded(async {
                    ws.send(Message::text(frame))
                        .await
                        .map_err(io::Error::other)
                })
                .await
            }
            Transport::Stream(_) => Err(io::Error::other("a frame for a TCP transport")),
        }
    }

    /// Closes gracefully (bounded: a server that does not answer is left).
    pub(super) async fn shutdown(self) {
        let close = async move {
            match self {
                Transport::Stream(mut io) => {
                    let _ = io.shutdown().await;
                }
                Transport::Ws(mut ws) => {
                    let _ = ws.close(None).await;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
    }
}

/// A write, failed with `TimedOut` after [`WRITE_TIMEOUT`].
async fn bounded(write: impl std::future::Future<Output = io::Result<()>>) -> io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the server read nothing for {WRITE_TIMEOUT:?}"),
            ))
        })
}

/// Opens the transport to `server`: TCP, then direct TLS or the WebSocket
/// upgrade as the server's URL says. Each step is bounded.
pub(super) async fn connect(
    server: &XmppServer,
    domain: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Transport, String> {
    let tcp = step(
        "TCP connect",
        TcpStream::connect((server.host(), server.port())),
    )
    .await?;
    let _ = tcp.set_nodelay(true);
    match server {
        XmppServer::Tcp { direct_tls, .. } => {
            if *direct_tls {
                Ok(Transport::Stream(Io::Tls(Box::new(
                    handshake(tcp, domain, tls).await?,
                ))))
            } else {
                Ok(Transport::Stream(Io::Plain(tcp)))
            }
        }
        XmppServer::WebSocket {
            url,
            secure,
            host,
            max_message,
            ..
        } => {
            let io = if *secure {
                Io::Tls(Box::new(handshake(tcp, host, tls).await?))
            } else {
                Io::Plain(tcp)
            };
            let mut request = url
                .as_str()
                .into_client_request()
                .map_err(|e| format!("bad WebSocket URL {url}: {e}"))?;
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                tokio_tungstenite::tungstenite::http::HeaderValue::from_static("xmpp"),
            );
            let config = WebSocketConfig::default()
                .max_message_size(Some(*max_message))
                .max_frame_size(Some(*max_message));
            let (ws, response) = step(
                "WebSocket upgrade",
                tokio_tungstenite::client_async_with_config(request, io, Some(config)),
            )
            .await?;
            let protocol = response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok());
            if protocol != Some("xmpp") {
                return Err(format!(
                    "the WebSocket server at {url} did not accept the subprotocol 'xmpp' \
                     (RFC 7395; it answered {protocol:?})"
                ));
            }
            Ok(Transport::Ws(Box::new(ws)))
        }
    }
}

/// STARTTLS: the TLS handshake on a connected plain TCP transport.
pub(super) async fn start_tls(
    transport: Transport,
    server_name: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Transport, String> {
    match transport {
        Transport::Stream(Io::Plain(tcp)) => Ok(Transport::Stream(Io::Tls(Box::new(
            handshake(tcp, server_name, tls).await?,
        )))),
        _ => Err("STARTTLS on a transport that is not plain TCP".into()),
    }
}

/// The TLS handshake, verifying the certificate against `name`.
async fn handshake(
    tcp: TcpStream,
    name: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<TlsStream<TcpStream>, String> {
    let server_name = ServerName::try_from(name.to_owned())
        .map_err(|e| format!("cannot verify a certificate for {name:?}: {e}"))?;
    step(
        "TLS handshake",
        TlsConnector::from(tls.clone()).connect(server_name, tcp),
    )
    .await
}

/// Runs one connection step within [`STEP_TIMEOUT`], naming it in the error.
async fn step<T, E: std::fmt::Display>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(STEP_TIMEOUT, future).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(format!("{what} failed: {e}")),
        Err(_) => Err(format!("{what} took longer than {STEP_TIMEOUT:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    /// A URL whose scheme is written in capitals (which `XmppServer::parse`
    /// accepts) reaches a real WebSocket server on 127.0.0.1.
    #[tokio::test]
    async fn a_websocket_url_in_capitals_connects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            #[allow(clippy::result_large_err)]
            let callback = |_: &Request, mut response: Response| {
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("xmpp"));
                Ok(response)
            };
            tokio_tungstenite::accept_hdr_async(stream, callback)
                .await
                .map(drop)
        });
        let url = format!("WS://127.0.0.1:{port}/xmpp-websocket");
        let xmpp = XmppServer::parse(&url).unwrap();
        let tls = crate::engine::net::tls_config(rustls::RootCertStore::empty()).unwrap();
        let connected = tokio::time::timeout(STEP_TIMEOUT, connect(&xmpp, "localhost", &tls))
            .await
            .expect("connect in time");
        assert!(connected.is_ok(), "{url}: {:?}", connected.err());
        drop(connected);
        // The server saw the whole upgrade (or the client never sent it).
        let _ = server.await;
    }
}

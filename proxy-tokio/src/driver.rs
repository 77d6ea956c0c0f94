//! The driver task: owns the sans-IO [`ProxyConnection`], one UDP socket per host
//! address, the TCP streams to TURN servers, and one timer.
//!
//! Its loop (the shape of quinn's `ConnectionDriver`):
//! 1. drain `poll_output` until `Timeout(deadline)`: send datagrams (from the socket
//!    bound to their source), forward signals and events, start DNS lookups (mDNS
//!    for `.local` names) and TCP connections, queue stream writes (to each stream's writer task: never awaited
//!    here);
//! 2. re-arm the one `sleep_until(deadline)` (none when nothing is scheduled);
//! 3. `select!` on a datagram (any socket), a control command, an input (message /
//!    frame write), news from the network tasks (DNS answers, stream bytes) or the
//!    timer; every arm is cancel-safe (`poll_recv_from` and `mpsc::recv` lose nothing
//!    when another arm wins);
//! 4. if `now >= deadline` (checked here, not trusted to the sleep), `handle_timeout`.
//!
//! When the control channel closes (the handle was dropped) the driver calls `stop`,
//! drains once more so the `session-terminate` reaches the signaling stream, and exits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy_core::OutgoingIq;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::channel::{Control, IceServers, Input, RemoteFrames, ServiceEvent, FRAME_QUEUE};
use crate::engine::net::StreamId;
use crate::engine::{Event, Frame, Output, ProxyConnection};
use crate::io::{NetNews, Stream};

/// Largest datagram we read (larger ones are truncated by the kernel and rejected
/// by the engine).
const RECV_BUFFER: usize = 4096;

/// The sending half of one remote track's frame queue.
struct FrameSink {
    tx: mpsc::Sender<Frame>,
    dropped: Arc<AtomicU64>,
    /// The receiver, until the RemoteTrack event hands it to the application
    /// (frames may arrive before the track is announced).
    pending: Option<RemoteFrames>,
}

impl FrameSink {
    fn new() -> FrameSink {
        let (tx, rx) = mpsc::channel(FRAME_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        FrameSink {
            tx,
            dropped: dropped.clone(),
            pending: Some(RemoteFrames { rx, dropped }),
        }
    }
}

pub(crate) struct Driver {
    connection: ProxyConnection,
    sockets: Vec<UdpSocket>,
    /// Each socket's bound address (the `destination` of what it receives).
    local_addrs: Vec<std::net::SocketAddr>,
    streams: HashMap<StreamId, Stream>,
    news_tx: mpsc::UnboundedSender<NetNews>,
    news: mpsc::UnboundedReceiver<NetNews>,
    control: mpsc::Receiver<Control>,
    inbox: mpsc::Receiver<Input>,
    inbox_open: bool,
    events: mpsc::UnboundedSender<ServiceEvent>,
    signals: mpsc::UnboundedSender<OutgoingIq>,
    tracks: HashMap<String, FrameSink>,
}

impl Driver {
    pub(crate) fn new(
        connection: ProxyConnection,
        sockets: Vec<UdpSocket>,
        local_addrs: Vec<std::net::SocketAddr>,
        control: mpsc::Receiver<Control>,
        inbox: mpsc::Receiver<Input>,
        events: mpsc::UnboundedSender<ServiceEvent>,
        signals: mpsc::UnboundedSender<OutgoingIq>,
    ) -> Driver {
        let (news_tx, news) = mpsc::unbounded_channel();
        Driver {
            connection,
            sockets,
            local_addrs,
            streams: HashMap::new(),
            news_tx,
            news,
            control,
            inbox,
            inbox_open: true,
            events,
            signals,
            tracks: HashMap::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; RECV_BUFFER];
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        loop {
            let deadline = self.drain().await;
            if let Some(deadline) = deadline {
                sleep
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(deadline));
            }
            tokio::select! {
                command = self.control.recv() => match command {
                    Some(command) => self.handle_control(command),
                    None => {
                        // The handle was dropped: terminate, flush, exit.
                        self.connection.stop(Instant::now());
                        self.drain().await;
                        return;
                    }
                },
                (index, received) = crate::io::recv_any(&self.sockets, &mut buf) => {
                    if let (Ok((len, source)), Some(destination)) =
                        (received, self.local_addrs.get(index).copied())
                    {
                        let contents = buf.get(..len).unwrap_or_default();
                        // Early DTLS (before our ICE check succeeds) is held by the engine.
                        self.connection
                            .handle_receive(Instant::now(), source, destination, contents);
                    }
                    // Errors (e.g. ICMP-induced resets on some platforms) are not fatal.
                }
                Some(news) = self.news.recv() => self.handle_news(news),
                input = self.inbox.recv(), if self.inbox_open => match input {
                    Some(input) => self.handle_input(input),
                    None => self.inbox_open = false,
                },
                () = &mut sleep, if deadline.is_some() => {}
            }
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                self.connection.handle_timeout(now);
            }
        }
    }

    fn handle_control(&mut self, command: Control) {
        let now = Instant::now();
        match command {
            Control::Start {
                peer,
                tracks,
                reply,
            } => {
                let _ = reply.send(self.connection.start(now, &peer, &tracks));
            }
            Control::Stop { reply } => {
                self.connection.stop(now);
                let _ = reply.send(());
            }
            Control::IsActive { reply } => {
                let _ = reply.send(self.connection.is_active());
            }
            Control::RequestKeyframe { mid, reply } => {
                let _ = reply.send(self.connection.request_keyframe(now, &mid));
            }
            Control::SetIceServers { servers, reply } => {
                match servers {
                    IceServers::Core(s) => self.connection.set_ice_servers(now, &s),
                    IceServers::Specs(s) => self.connection.set_server_specs(now, s),
                }
                let _ = reply.send(());
            }
        }
    }

    fn handle_input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Message(message) => self.connection.handle_message(now, message),
            Input::IceServers(servers) => self.connection.set_ice_servers(now, &servers),
            Input::Write {
                track,
                pts,
                data,
                reply,
            } => {
                let _ = reply.send(self.connection.write_frame(now, track, pts, &data));
            }
        }
    }

    fn handle_news(&mut self, news: NetNews) {
        let now = Instant::now();
        match news {
            NetNews::Resolved { host, result } => {
                self.connection.handle_resolved(now, &host, result)
            }
            NetNews::Connected { stream, local } => {
                self.connection.handle_stream_connected(now, stream, local)
            }
            NetNews::Data { stream, bytes } => {
                if bytes.is_empty() {
                    self.streams.remove(&stream);
                }
                self.connection.handle_stream_data(now, stream, &bytes)
            }
            NetNews::Closed { stream } => {
                self.streams.remove(&stream);
                self.connection.handle_stream_closed(now, stream)
            }
        }
    }

    /// Drains the connection's outputs; returns the next deadline, if any.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.connection.poll_output() {
                Output::Transmit(t) => {
                    // Send errors (unreachable candidate address, full buffer) are
                    // like packet loss; ICE and retransmissions deal with them.
                    if let Some(socket) = crate::io::socket_for(&self.sockets, t.source) {
                        let _ = socket.send_to(&t.contents, t.destination).await;
                    }
                }
                Output::Resolve { host, port, mdns } => {
                    crate::io::resolve(host, port, mdns, &self.local_addrs, self.news_tx.clone())
                }
                Output::Connect { stream, server } => {
                    let s = Stream::connect(stream, server, self.news_tx.clone());
                    self.streams.insert(stream, s);
                }
                Output::StreamSend { stream, bytes } => {
                    if let Some(s) = self.streams.get(&stream) {
                        s.send(bytes);
                    }
                }
                Output::StreamClose { stream } => {
                    self.streams.remove(&stream);
                }
                Output::Iq(out) => {
                    let _ = self.signals.send(out);
                }
                Output::Event(event) => self.handle_event(event),
                Output::Timeout(deadline) => return deadline,
            }
        }
    }

    fn handle_event(&mut self, event: Event) {
        let event = match event {
            Event::Frame(frame) => {
                let sink = self
                    .tracks
                    .entry(frame.mid.clone())
                    .or_insert_with(FrameSink::new);
                if sink.tx.try_send(frame).is_err() {
                    // Full (the application fell behind) or closed (it dropped the
                    // receiver): the frame is dropped, counted if anyone listens.
                    sink.dropped.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            Event::KeyframeRequest { track } => ServiceEvent::KeyframeRequest { track },
            Event::Core(core) => match core {
                proxy_core::Event::Connected { peer } => ServiceEvent::Connected { peer },
                proxy_core::Event::RemoteTrack(track) => {
                    let sink = self
                        .tracks
                        .entry(track.mid.clone())
                        .or_insert_with(FrameSink::new);
                    let Some(frames) = sink.pending.take() else {
                        // Announced twice: the application already has the receiver.
                        return;
                    };
                    ServiceEvent::RemoteTrack { track, frames }
                }
                proxy_core::Event::ConnectionClosed { peer, reason } => {
                    // Ends every RemoteFrames stream of this connection (after the
                    // frames already queued).
                    self.tracks.clear();
                    ServiceEvent::ConnectionClosed { peer, reason }
                }
                proxy_core::Event::Error(e) => ServiceEvent::Error(e),
            },
            Event::Path(p) => ServiceEvent::Path(p),
            Event::Stats(s) => ServiceEvent::Stats(s),
            Event::RelayFailed {
                server,
                proto,
                reason,
            } => ServiceEvent::RelayFailed {
                server,
                proto,
                reason,
            },
        };
        let _ = self.events.send(event);
    }
}

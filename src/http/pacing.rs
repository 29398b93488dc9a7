//! Holding clients to a pace: a request body that stops coming, or comes a
//! byte at a time, is cut, so that no client holds a connection, a buffer
//! or an upload's thread for as long as it likes. (The request's head is
//! bounded by the server itself: see `serve`.)

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::rt::time::{Instant, Sleep, sleep_until};
use actix_web::web::{Bytes, Data};
use futures_util::Stream;

use crate::config::{ClientLimits, MIN_BODY_RATE};

/// What a cut body says, as the error every body reader sees.
const CUT: &str = "the client stopped sending its request body, or sent it too slowly";

/// Whether a body error is the cut of a slow client.
pub(crate) fn timed_out(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut)
}

/// Puts every request body on the pace the configuration asks.
pub(crate) async fn pace_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let limits: ClientLimits = req
        .app_data::<Data<ClientLimits>>()
        .map(|l| *l.get_ref())
        .unwrap_or_default();
    let has_body = req.headers().contains_key(actix_web::http::header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body {
        let inner = req.take_payload();
        let paced: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Paced::new(inner, limits.idle));
        req.set_payload(Payload::from(paced));
    }
    next.call(req).await
}

/// A body that must keep coming: some bytes every `idle`, and once `idle`
/// has passed, [`MIN_BODY_RATE`] on average since it began.
struct Paced {
    inner: Payload,
    idle: Duration,
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl Paced {
    fn new(inner: Payload, idle: Duration) -> Self {
        let started = Instant::now();
        Paced {
            inner,
            idle,
            started,
            received: 0,
            timer: Box::pin(sleep_until(started + idle)),
            done: false,
        }
    }

    /// When the body is cut unless more comes: after `idle` without
    /// anything, or when the average falls below the floor.
    fn deadline(&self) -> Instant {
        let quiet = Instant::now() + self.idle;
        let floor = self.started + self.idle + Duration::from_secs_f64(self.received as f64 / MIN_BODY_RATE as f64);
        quiet.min(floor)
    }
}

impl Stream for Paced {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                this.received += bytes.len() as u64;
                let deadline = this.deadline();
                this.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        CUT,
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

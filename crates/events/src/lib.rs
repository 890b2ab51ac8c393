//! Lease and conflict events, the bounded bus, script hooks and webhooks (work in progress).
#![forbid(unsafe_code)]

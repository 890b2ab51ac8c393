//! The server runtime shell (placeholder).

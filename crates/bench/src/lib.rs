//! Load generator (placeholder).

//! Fuzz target: parse any bytes; when they parse, call every accessor and re-encode them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hyperdhcp_wire::fuzz_exercise(data);
});

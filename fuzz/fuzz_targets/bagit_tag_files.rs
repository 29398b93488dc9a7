#![no_main]
//! `coffre::fuzzing::bagit_tag_files` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::bagit_tag_files(data));

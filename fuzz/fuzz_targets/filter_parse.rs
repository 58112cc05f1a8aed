//! Feeds arbitrary bytes to the filter and path parsers. Beyond "never panics", it checks that
//! whatever parses prints to a canonical form that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = scim_filter::parse(input) {
        let printed = filter.to_string();
        let options = scim_filter::ParseOptions {
            max_length: usize::MAX,
            ..Default::default()
        };
        assert_eq!(options.parse(&printed).ok(), Some(filter), "{printed}");
    }
    if let Ok(path) = scim_filter::parse_path(input) {
        let printed = path.to_string();
        let options = scim_filter::ParseOptions {
            max_length: usize::MAX,
            ..Default::default()
        };
        assert_eq!(options.parse_path(&printed).ok(), Some(path), "{printed}");
    }
});

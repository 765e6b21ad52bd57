//! `/etc/services`: the TCP ports that have a name. A listener on a named port inside the
//! local port range is a fixed service port (and at risk when an outbound connection takes it
//! first), where a port the kernel picked for a `bind()` to port 0 carries no such risk.

use std::collections::BTreeMap;
use std::path::Path;

/// The longest services file read: the IANA-derived one Debian ships is about 13 KiB.
const LIMIT: u64 = 1 << 20;

/// TCP port names from a services file, read once per process.
#[derive(Debug, Default)]
pub struct Services {
    tcp: BTreeMap<u16, String>,
}

impl Services {
    /// The names in the file at `path`; none when it is missing or unreadable.
    pub fn read(path: &Path) -> Services {
        use std::io::Read;
        let mut text = String::new();
        let read = std::fs::File::open(path).and_then(|file| file.take(LIMIT).read_to_string(&mut text));
        match read {
            Ok(_) => Services::parse(&text),
            Err(_) => Services::default(),
        }
    }

    /// Parses `name port/protocol [aliases] [# comment]` lines, keeping the first name of each
    /// TCP port; other lines are skipped.
    pub fn parse(text: &str) -> Services {
        let mut tcp = BTreeMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let (Some(name), Some(port)) = (words.next(), words.next()) else { continue };
            let Some((number, "tcp")) = port.split_once('/') else { continue };
            if let Ok(number) = number.parse::<u16>() {
                tcp.entry(number).or_insert_with(|| name.to_string());
            }
        }
        Services { tcp }
    }

    /// The name of TCP port `port`, if it has one.
    pub fn tcp(&self, port: u16) -> Option<&str> {
        self.tcp.get(&port).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_names_are_read_and_the_rest_skipped() {
        let services = Services::parse(
            "# comment\nhttp\t\t80/tcp\t\twww\t\t# WorldWideWeb\nmdns 5353/udp\nx11 6000/tcp x11-0\nbad 99999/tcp\n\
             kerberos 88/tcp\nkerberos5 88/tcp\n",
        );
        assert_eq!(services.tcp(80), Some("http"));
        assert_eq!(services.tcp(6000), Some("x11"));
        assert_eq!(services.tcp(88), Some("kerberos"), "the first name wins");
        assert_eq!(services.tcp(5353), None, "UDP only");
        assert!(Services::read(Path::new("/nonexistent/services")).tcp(80).is_none());
    }
}

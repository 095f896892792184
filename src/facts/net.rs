//! IP networks (CIDRs): parsed once, tested by prefix.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address with a prefix length: `10.0.0.0/8`, `fe80::/10`, or a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// A string that is not an address or CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an IP address or CIDR")]
pub struct BadIpNet(pub String);

impl IpNet {
    /// A network; `prefix` is clamped to the family's width and host bits are cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> IpNet {
        let prefix = prefix.min(max_prefix(addr));
        IpNet { addr: mask(addr, prefix), prefix }
    }

    /// A single host.
    pub fn host(addr: IpAddr) -> IpNet {
        IpNet { addr, prefix: max_prefix(addr) }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Containment; an address of the other family is never contained.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(ip);
                let m = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                bits & m == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u128::from(ip);
                let m = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                bits & m == u128::from(net)
            }
            _ => false,
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl FromStr for IpNet {
    type Err = BadIpNet;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadIpNet(s.to_string());
        match s.split_once('/') {
            None => s.trim().parse::<IpAddr>().map(IpNet::host).map_err(|_| bad()),
            Some((addr, prefix)) => {
                let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
                let prefix: u8 = prefix.trim().parse().map_err(|_| bad())?;
                if prefix > max_prefix(addr) {
                    return Err(bad());
                }
                Ok(IpNet::new(addr, prefix))
            }
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_and_parsing() {
        let net: IpNet = "192.168.1.77/24".parse().unwrap();
        assert_eq!(net.to_string(), "192.168.1.0/24");
        assert!(net.contains("192.168.1.200".parse().unwrap()));
        assert!(!net.contains("192.168.2.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        let any: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("printer".parse::<IpNet>().is_err());
        assert_eq!("192.168.1.50".parse::<IpNet>().unwrap().to_string(), "192.168.1.50");
    }
}

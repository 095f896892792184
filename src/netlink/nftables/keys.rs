//! Set keys: nft data types, the layout of a (concatenated) key, and packed keys held inline.

use std::fmt;

use super::super::NetlinkError;
use super::uapi::*;

/// An nft data type usable as (part of) a set key. Ids are nft's `enum datatypes`; the kernel
/// only stores them, `nft list` turns them back into names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Ipv4Addr,
    Ipv6Addr,
    EtherAddr,
    InetProto,
    InetService,
    Mark,
    Ifname,
}

impl KeyType {
    pub fn type_id(self) -> u32 {
        match self {
            KeyType::Ipv4Addr => 7,
            KeyType::Ipv6Addr => 8,
            KeyType::EtherAddr => 9,
            KeyType::InetProto => 12,
            KeyType::InetService => 13,
            KeyType::Mark => 19,
            KeyType::Ifname => 41,
        }
    }

    /// Length of a value in bytes, before concatenation padding.
    pub fn byte_len(self) -> usize {
        match self {
            KeyType::Ipv4Addr | KeyType::Mark => 4,
            KeyType::Ipv6Addr | KeyType::Ifname => 16,
            KeyType::EtherAddr => 6,
            KeyType::InetProto => 1,
            KeyType::InetService => 2,
        }
    }

    /// The name `nft list` prints.
    pub fn nft_name(self) -> &'static str {
        match self {
            KeyType::Ipv4Addr => "ipv4_addr",
            KeyType::Ipv6Addr => "ipv6_addr",
            KeyType::EtherAddr => "ether_addr",
            KeyType::InetProto => "inet_proto",
            KeyType::InetService => "inet_service",
            KeyType::Mark => "mark",
            KeyType::Ifname => "ifname",
        }
    }
}

/// The fields of a set key in order: one field is a plain key, several a concatenation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyLayout {
    fields: Vec<KeyType>,
}

impl KeyLayout {
    pub fn new(fields: Vec<KeyType>) -> Result<KeyLayout, NetlinkError> {
        if fields.is_empty() {
            return Err(NetlinkError::Invalid("a set key needs at least one field".into()));
        }
        if fields.len() > MAX_CONCAT_FIELDS {
            return Err(NetlinkError::Invalid(format!(
                "a set key has at most {MAX_CONCAT_FIELDS} fields, got {}",
                fields.len()
            )));
        }
        let layout = KeyLayout { fields };
        if layout.key_len() > NFT_DATA_VALUE_MAXLEN {
            return Err(NetlinkError::Invalid(format!(
                "set key of {} bytes (at most {NFT_DATA_VALUE_MAXLEN})",
                layout.key_len()
            )));
        }
        Ok(layout)
    }

    pub fn fields(&self) -> &[KeyType] {
        &self.fields
    }

    pub fn is_concat(&self) -> bool {
        self.fields.len() > 1
    }

    /// `NFTA_SET_KEY_TYPE`: each field's id in 6 bits, the first field in the highest bits.
    pub fn type_id(&self) -> u32 {
        self.fields.iter().fold(0, |acc, f| (acc << CONCAT_TYPE_BITS) | f.type_id())
    }

    /// `NFTA_SET_KEY_LEN`: a concatenation stores each field in whole 32-bit registers.
    pub fn key_len(&self) -> usize {
        if self.is_concat() {
            self.fields.iter().map(|f| super::super::align4(f.byte_len())).sum()
        } else {
            self.fields[0].byte_len()
        }
    }

    /// How `nft list` prints the type: `ipv4_addr . inet_proto . inet_service . ipv4_addr`.
    pub fn nft_type(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(|f| f.nft_name()).collect();
        names.join(" . ")
    }

    /// Packs one value per field (network byte order, each of the field's length) into a key:
    /// in a concatenation each value is zero-padded to 4 bytes.
    pub fn pack(&self, values: &[&[u8]], out: &mut Vec<u8>) -> Result<(), NetlinkError> {
        if values.len() != self.fields.len() {
            return Err(NetlinkError::Invalid(format!(
                "{} key values for a key of {} fields",
                values.len(),
                self.fields.len()
            )));
        }
        out.clear();
        for (field, value) in self.fields.iter().zip(values) {
            if value.len() != field.byte_len() {
                return Err(NetlinkError::Invalid(format!("{}-byte value for {}", value.len(), field.nft_name())));
            }
            out.extend_from_slice(value);
            if self.is_concat() {
                out.resize(super::super::align4(out.len()), 0);
            }
        }
        Ok(())
    }

    /// Packs a key field by field without allocating: `field(i, key)` appends field `i`'s value
    /// (network byte order, the field's length) with [`SetKey::extend`]; padding is added here.
    pub fn pack_with<E>(
        &self,
        mut field: impl FnMut(usize, &mut SetKey) -> Result<(), E>,
    ) -> Result<SetKey, PackError<E>> {
        let mut key = SetKey::EMPTY;
        let align = if self.is_concat() { 4 } else { 1 };
        for (i, f) in self.fields.iter().enumerate() {
            let before = key.len;
            field(i, &mut key).map_err(PackError::Field)?;
            let got = usize::from(key.len - before);
            if got != f.byte_len() {
                return Err(PackError::Layout(NetlinkError::Invalid(format!("{got}-byte value for {}", f.nft_name()))));
            }
            key.push(&[], align).map_err(PackError::Layout)?;
        }
        Ok(key)
    }
}

/// Why [`KeyLayout::pack_with`] failed: the caller's field function, or a value of the wrong size.
#[derive(Debug)]
pub enum PackError<E> {
    Field(E),
    Layout(NetlinkError),
}

/// One packed set-element key held inline (no heap), as long as the longest key nftables takes.
/// Equality and hashing look at the key bytes only.
#[derive(Clone, Copy)]
pub struct SetKey {
    len: u8,
    bytes: [u8; NFT_DATA_VALUE_MAXLEN],
}

impl SetKey {
    pub const EMPTY: SetKey = SetKey { len: 0, bytes: [0; NFT_DATA_VALUE_MAXLEN] };

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Appends `value`, then zero padding up to a multiple of `align` bytes. Fails beyond 64 bytes.
    /// Appends one field value (inside [`KeyLayout::pack_with`]'s callback).
    pub fn extend(&mut self, value: &[u8]) -> Result<(), NetlinkError> {
        self.push(value, 1)
    }

    fn push(&mut self, value: &[u8], align: usize) -> Result<(), NetlinkError> {
        let start = usize::from(self.len);
        let end = start + value.len();
        let padded = end.div_ceil(align) * align;
        if padded > NFT_DATA_VALUE_MAXLEN {
            return Err(NetlinkError::Invalid(format!("set key of {padded} bytes (at most {NFT_DATA_VALUE_MAXLEN})")));
        }
        self.bytes[start..end].copy_from_slice(value);
        self.bytes[end..padded].fill(0);
        self.len = padded as u8;
        Ok(())
    }
}

impl Default for SetKey {
    fn default() -> Self {
        SetKey::EMPTY
    }
}

impl AsRef<[u8]> for SetKey {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for SetKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SetKey {}

impl std::hash::Hash for SetKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for SetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetKey({:02x?})", self.as_bytes())
    }
}

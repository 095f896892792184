//! nftables over NETLINK_NETFILTER: tables, sets and set elements, sent as batched transactions.
//!
//! Every change goes out as an nfnetlink batch (`NFNL_MSG_BATCH_BEGIN` … `NFNL_MSG_BATCH_END`),
//! which the kernel applies all-or-nothing. Each message inside asks for an ACK, so an error maps
//! back to the message (by sequence number) that caused it. Constants are from the kernel UAPI
//! headers `linux/netfilter/nfnetlink.h` and `linux/netfilter/nf_tables.h`.
//!
//! Kernel behaviour handled here (measured on Linux 6.18; docs/ARCHITECTURE.md, "Kernel facts"):
//! - one element too many for a set's `size` fails the whole batch with ENFILE → halve and retry,
//!   so the elements that fit get in and the rest are counted as refused;
//! - a batch larger than the socket send buffer fails with EMSGSIZE → raise SO_SNDBUF and keep
//!   batches under it;
//! - re-adding an element with `NLM_F_CREATE` (no `NLM_F_EXCL`) succeeds; its timer restarts only
//!   when `NFTA_SET_ELEM_EXPIRATION` is sent again, so we always send it.

use std::fmt;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

use super::{
    get_int_opt, parse_acks, recv_datagram, set_int_opt, set_recv_timeout, Ack, Mark, MsgBuf, NetlinkError,
    NLA_MAX_LEN, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};

// linux/netfilter/nfnetlink.h
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10; // NLMSG_MIN_TYPE
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNETLINK_V0: u8 = 0;

// enum nf_tables_msg_types
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_DELRULE: u16 = 8;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_GETSET: u16 = 10;
const NFT_MSG_DELSET: u16 = 11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;

// enum nft_table_attributes
const NFTA_TABLE_NAME: u16 = 1;

// enum nft_chain_attributes, nft_rule_attributes, nft_expr_attributes
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
// enum nft_immediate_attributes, nft_ct_attributes, nft_ct_keys, nft_registers
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_CT_KEY: u16 = 2;
const NFTA_CT_SREG: u16 = 4;
const NFT_CT_LABELS: u32 = 13;
/// The first 16-byte data register (`NFT_REG_1`), wide enough for the 128 label bits.
const NFT_REG_1: u32 = 1;
/// Highest conntrack label bit (`NF_CT_LABELS_MAX_SIZE` = 16 bytes).
pub const CT_LABEL_MAX_BIT: u8 = 127;

// enum nft_set_attributes
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DESC: u16 = 9;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_TIMEOUT: u16 = 11;

// enum nft_set_desc_attributes, nft_set_field_attributes, nft_list_attributes
const NFTA_SET_DESC_SIZE: u16 = 1;
const NFTA_SET_DESC_CONCAT: u16 = 2;
const NFTA_SET_FIELD_LEN: u16 = 1;
const NFTA_LIST_ELEM: u16 = 1;

// enum nft_set_flags
const NFT_SET_TIMEOUT: u32 = 0x10;
const NFT_SET_CONCAT: u32 = 0x80;

// enum nft_set_elem_list_attributes, nft_set_elem_attributes, nft_data_attributes
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
const NFTA_DATA_VALUE: u16 = 1;

/// `NFT_NAME_MAXLEN` counts the terminating NUL.
const NFT_NAME_MAXLEN: usize = 256;
/// `NFT_DATA_VALUE_MAXLEN`: the longest key (16 32-bit registers).
const NFT_DATA_VALUE_MAXLEN: usize = 64;
/// nft packs one field's type id into 6 bits of the 32-bit key type (`TYPE_BITS` in nft's
/// datatype.h), so at most 5 fields keep a type that `nft list` can print.
const CONCAT_TYPE_BITS: u32 = 6;
const MAX_CONCAT_FIELDS: usize = 5;

/// `nlmsghdr` + `nfgenmsg`: the size of BATCH_END, reserved when filling a batch.
const BATCH_END_LEN: usize = NLMSG_HDRLEN + 4;
/// What we ask SO_SNDBUFFORCE/SO_RCVBUFFORCE for; the kernel doubles it.
const WANT_SOCKET_BUF: i32 = 2 << 20;
/// Largest batch we build even when the send buffer would take more: the kernel holds the
/// nftables commit mutex for the whole batch, so keep each one short.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// `netlink_sendmsg` refuses messages longer than `sk_sndbuf - 32`; keep a little more slack.
const SNDBUF_SLACK: usize = 64;
/// Large enough for any acknowledgement, even one that echoes a whole message.
const RECV_BUF_BYTES: usize = 256 << 10;
/// A batch is acknowledged within microseconds; this only stops a lost reply from hanging us.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Address family of an nftables table (the `nfgenmsg` family, `NFPROTO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFamily {
    Inet,
    Ip,
    Ip6,
    Bridge,
    Netdev,
}

impl TableFamily {
    /// Parses nft's spelling (`inet`, `ip`, `ip6`, `bridge`, `netdev`).
    pub fn from_name(name: &str) -> Option<TableFamily> {
        Some(match name {
            "inet" => TableFamily::Inet,
            "ip" => TableFamily::Ip,
            "ip6" => TableFamily::Ip6,
            "bridge" => TableFamily::Bridge,
            "netdev" => TableFamily::Netdev,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TableFamily::Inet => "inet",
            TableFamily::Ip => "ip",
            TableFamily::Ip6 => "ip6",
            TableFamily::Bridge => "bridge",
            TableFamily::Netdev => "netdev",
        }
    }

    /// `NFPROTO_*` from `linux/netfilter.h`.
    fn nfproto(self) -> u8 {
        match self {
            TableFamily::Inet => 1,
            TableFamily::Ip => 2,
            TableFamily::Netdev => 5,
            TableFamily::Bridge => 7,
            TableFamily::Ip6 => 10,
        }
    }
}

impl fmt::Display for TableFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
            self.fields.iter().map(|f| super::align4(f.byte_len())).sum()
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
                out.resize(super::align4(out.len()), 0);
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

/// What a set should look like when we create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    pub name: String,
    pub key: KeyLayout,
    /// Maximum number of elements (`size`).
    pub size: u32,
    /// Default element timeout in milliseconds; 0 = elements never expire.
    pub timeout_ms: u64,
}

/// Names one set: family, table and set name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRef<'a> {
    pub family: TableFamily,
    pub table: &'a str,
    pub set: &'a str,
}

impl fmt::Display for SetRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.family, self.table, self.set)
    }
}

/// Outcome of adding elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddReport {
    /// Elements now in the set (new or refreshed).
    pub accepted: usize,
    /// Elements the kernel refused because the set was full (ENFILE).
    pub refused: usize,
    /// Transactions sent, retries included.
    pub batches: usize,
}

#[derive(Debug)]
struct BatchMsg {
    start: Mark,
    context: String,
    /// Extra words for the error when the kernel answers EEXIST.
    eexist_hint: Option<&'static str>,
}

/// One nftables transaction being built. Sequence numbers are assigned by
/// [`NftSocket::commit`], so a batch can be built (and inspected in tests) without a socket.
#[derive(Debug)]
pub struct NftBatch {
    buf: MsgBuf,
    begin: Mark,
    msgs: Vec<BatchMsg>,
    next_set_id: u32,
    /// Most elements [`add_elements`](Self::add_elements) puts in one NEWSETELEM message.
    elements_per_msg: usize,
}

impl Default for NftBatch {
    fn default() -> Self {
        NftBatch::new()
    }
}

impl NftBatch {
    pub fn new() -> NftBatch {
        NftBatch::with_capacity(0)
    }

    /// An empty batch whose buffer holds `bytes` before it grows.
    pub fn with_capacity(bytes: usize) -> NftBatch {
        let mut batch = NftBatch {
            buf: MsgBuf::with_capacity(bytes),
            begin: Mark(0),
            msgs: Vec::new(),
            next_set_id: 1,
            elements_per_msg: usize::MAX,
        };
        batch.reset();
        batch
    }

    /// Empties the batch (keeping its buffers) and writes BEGIN again.
    pub fn reset(&mut self) {
        self.buf.truncate(0);
        self.msgs.clear();
        self.next_set_id = 1;
        self.begin = self.buf.begin_msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0);
        put_nfgenmsg(&mut self.buf, 0, NFNL_SUBSYS_NFTABLES);
        self.buf.end_msg(self.begin);
    }

    /// Puts at most `n` (at least 1) elements in each NEWSETELEM message; without it a message
    /// takes as many as its 64 KiB element list holds.
    pub fn set_elements_per_message(&mut self, n: usize) {
        self.elements_per_msg = n.max(1);
    }

    /// Number of messages between BEGIN and END.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Encoded size including the END message still to come.
    pub fn byte_len(&self) -> usize {
        self.buf.len() + BATCH_END_LEN
    }

    fn begin(&mut self, msg: u16, extra_flags: u16, family: TableFamily, context: String) -> Mark {
        let msg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
        let start = self.buf.begin_msg(msg_type, NLM_F_REQUEST | NLM_F_ACK | extra_flags, 0);
        put_nfgenmsg(&mut self.buf, family.nfproto(), 0);
        self.msgs.push(BatchMsg { start, context, eexist_hint: None });
        start
    }

    /// Creates the table unless it exists (`NLM_F_CREATE` without `NLM_F_EXCL`).
    pub fn add_table(&mut self, family: TableFamily, table: &str) -> Result<(), NetlinkError> {
        check_name(table)?;
        let m = self.begin(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, format!("create table {family} {table}"));
        self.buf.put_str(NFTA_TABLE_NAME, table);
        self.buf.end_msg(m);
        Ok(())
    }

    /// Creates the set unless one of that name exists. For an existing set, Linux 6.18 answers
    /// EEXIST when the key or flags differ, updates the default timeout in place, and ignores a
    /// different size (measured): changing those means deleting the set.
    pub fn add_set(&mut self, family: TableFamily, table: &str, spec: &SetSpec) -> Result<(), NetlinkError> {
        self.add_set_flags(family, table, spec, NLM_F_CREATE)
    }

    /// Creates the set only if it does not exist: EEXIST otherwise (`NLM_F_EXCL`).
    pub fn add_set_exclusive(&mut self, family: TableFamily, table: &str, spec: &SetSpec) -> Result<(), NetlinkError> {
        self.add_set_flags(family, table, spec, NLM_F_CREATE | NLM_F_EXCL)
    }

    fn add_set_flags(
        &mut self,
        family: TableFamily,
        table: &str,
        spec: &SetSpec,
        flags: u16,
    ) -> Result<(), NetlinkError> {
        check_name(table)?;
        check_name(&spec.name)?;
        let m = self.begin(NFT_MSG_NEWSET, flags, family, format!("create set {family} {table} {}", spec.name));
        if let Some(last) = self.msgs.last_mut() {
            last.eexist_hint = Some(
                "a set of that name exists with another key type or flags; \
                 delete it to change them",
            );
        }
        let key = &spec.key;
        let mut flags = 0;
        if spec.timeout_ms > 0 {
            flags |= NFT_SET_TIMEOUT;
        }
        if key.is_concat() {
            flags |= NFT_SET_CONCAT;
        }
        self.buf.put_str(NFTA_SET_TABLE, table);
        self.buf.put_str(NFTA_SET_NAME, &spec.name);
        self.buf.put_u32_be(NFTA_SET_FLAGS, flags);
        self.buf.put_u32_be(NFTA_SET_KEY_TYPE, key.type_id());
        self.buf.put_u32_be(NFTA_SET_KEY_LEN, key.key_len() as u32);
        let desc = self.buf.begin_nest(NFTA_SET_DESC);
        if spec.size > 0 {
            self.buf.put_u32_be(NFTA_SET_DESC_SIZE, spec.size);
        }
        if key.is_concat() {
            let concat = self.buf.begin_nest(NFTA_SET_DESC_CONCAT);
            for field in key.fields() {
                // The field length is in bytes, unpadded (the kernel rounds each up to 4 and
                // checks the sum against NFTA_SET_KEY_LEN); the UAPI comment says bits.
                let elem = self.buf.begin_nest(NFTA_LIST_ELEM);
                self.buf.put_u32_be(NFTA_SET_FIELD_LEN, field.byte_len() as u32);
                self.buf.end_nest(elem)?;
            }
            self.buf.end_nest(concat)?;
        }
        self.buf.end_nest(desc)?;
        self.buf.put_u32_be(NFTA_SET_ID, self.next_set_id);
        self.next_set_id += 1;
        if spec.timeout_ms > 0 {
            self.buf.put_u64_be(NFTA_SET_TIMEOUT, spec.timeout_ms);
        }
        self.buf.end_msg(m);
        Ok(())
    }

    /// Creates a regular chain with no hook unless it exists: its rules never see a packet, but
    /// their expressions still take effect when loaded (`ct label set` enables label storage).
    pub fn add_chain(&mut self, family: TableFamily, table: &str, chain: &str) -> Result<(), NetlinkError> {
        check_name(table)?;
        check_name(chain)?;
        let m = self.begin(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, format!("create chain {family} {table} {chain}"));
        self.buf.put_str(NFTA_CHAIN_TABLE, table);
        self.buf.put_str(NFTA_CHAIN_NAME, chain);
        self.buf.end_msg(m);
        Ok(())
    }

    /// Removes every rule of a chain (DELRULE with no handle).
    pub fn flush_chain(&mut self, family: TableFamily, table: &str, chain: &str) -> Result<(), NetlinkError> {
        check_name(table)?;
        check_name(chain)?;
        let m = self.begin(NFT_MSG_DELRULE, 0, family, format!("flush chain {family} {table} {chain}"));
        self.buf.put_str(NFTA_RULE_TABLE, table);
        self.buf.put_str(NFTA_RULE_CHAIN, chain);
        self.buf.end_msg(m);
        Ok(())
    }

    /// Appends the rule `ct label set <bit>` (nft's bytecode: `immediate reg 1 <label bitmap>`,
    /// `ct set label with reg 1`). Loading it makes the kernel give every connection created
    /// from then on room for labels, which ctnetlink label updates need (else ENOSPC).
    pub fn add_ct_label_set_rule(
        &mut self,
        family: TableFamily,
        table: &str,
        chain: &str,
        bit: u8,
    ) -> Result<(), NetlinkError> {
        check_name(table)?;
        check_name(chain)?;
        if bit > CT_LABEL_MAX_BIT {
            return Err(NetlinkError::Invalid(format!("conntrack label bit {bit} (at most {CT_LABEL_MAX_BIT})")));
        }
        let m = self.begin(
            NFT_MSG_NEWRULE,
            NLM_F_CREATE | NLM_F_APPEND,
            family,
            format!("add rule {family} {table} {chain} ct label set {bit}"),
        );
        self.buf.put_str(NFTA_RULE_TABLE, table);
        self.buf.put_str(NFTA_RULE_CHAIN, chain);
        let exprs = self.buf.begin_nest(NFTA_RULE_EXPRESSIONS);
        // The label bitmap as the kernel stores it: host-order `unsigned long` words.
        let labels = 1u128 << bit;
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&(labels as u64).to_ne_bytes());
        data[8..].copy_from_slice(&((labels >> 64) as u64).to_ne_bytes());
        let e = self.buf.begin_nest(NFTA_LIST_ELEM);
        self.buf.put_str(NFTA_EXPR_NAME, "immediate");
        let d = self.buf.begin_nest(NFTA_EXPR_DATA);
        self.buf.put_u32_be(NFTA_IMMEDIATE_DREG, NFT_REG_1);
        let v = self.buf.begin_nest(NFTA_IMMEDIATE_DATA);
        self.buf.put_attr(NFTA_DATA_VALUE, &data);
        self.buf.end_nest(v)?;
        self.buf.end_nest(d)?;
        self.buf.end_nest(e)?;
        let e = self.buf.begin_nest(NFTA_LIST_ELEM);
        self.buf.put_str(NFTA_EXPR_NAME, "ct");
        let d = self.buf.begin_nest(NFTA_EXPR_DATA);
        self.buf.put_u32_be(NFTA_CT_KEY, NFT_CT_LABELS);
        self.buf.put_u32_be(NFTA_CT_SREG, NFT_REG_1);
        self.buf.end_nest(d)?;
        self.buf.end_nest(e)?;
        self.buf.end_nest(exprs)?;
        self.buf.end_msg(m);
        Ok(())
    }

    /// Removes every element (DELSETELEM without an element list).
    pub fn flush_set(&mut self, set: SetRef<'_>) -> Result<(), NetlinkError> {
        check_name(set.table)?;
        check_name(set.set)?;
        let m = self.begin(NFT_MSG_DELSETELEM, 0, set.family, format!("flush set {set}"));
        self.buf.put_str(NFTA_SET_ELEM_LIST_TABLE, set.table);
        self.buf.put_str(NFTA_SET_ELEM_LIST_SET, set.set);
        self.buf.end_msg(m);
        Ok(())
    }

    /// Deletes the set (EBUSY while a rule refers to it).
    pub fn delete_set(&mut self, set: SetRef<'_>) -> Result<(), NetlinkError> {
        check_name(set.table)?;
        check_name(set.set)?;
        let m = self.begin(NFT_MSG_DELSET, 0, set.family, format!("delete set {set}"));
        self.buf.put_str(NFTA_SET_TABLE, set.table);
        self.buf.put_str(NFTA_SET_NAME, set.set);
        self.buf.end_msg(m);
        Ok(())
    }

    /// Adds as many of `keys` as fit while the whole batch stays within `max_bytes`, in as
    /// many NEWSETELEM messages as the 64 KiB attribute limit needs; returns how many went in.
    /// With `timeout_ms > 0` each element carries its timeout and an expiration equal to it,
    /// which restarts the timer of an element that is already there.
    pub fn add_elements<K: AsRef<[u8]>>(
        &mut self,
        set: SetRef<'_>,
        keys: &[K],
        timeout_ms: u64,
        max_bytes: usize,
    ) -> Result<usize, NetlinkError> {
        check_name(set.table)?;
        check_name(set.set)?;
        let mut taken = 0;
        while taken < keys.len() {
            let msg_start = self.buf.len();
            let m = self.begin(NFT_MSG_NEWSETELEM, NLM_F_CREATE, set.family, String::new());
            self.buf.put_str(NFTA_SET_ELEM_LIST_TABLE, set.table);
            self.buf.put_str(NFTA_SET_ELEM_LIST_SET, set.set);
            let list = self.buf.begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
            let mut in_msg = 0;
            let mut batch_full = false;
            for key in &keys[taken..] {
                let key = key.as_ref();
                if key.is_empty() || key.len() > NFT_DATA_VALUE_MAXLEN {
                    return Err(NetlinkError::Invalid(format!("set element key of {} bytes", key.len())));
                }
                let before = self.buf.len();
                let elem = self.buf.begin_nest(NFTA_LIST_ELEM);
                let k = self.buf.begin_nest(NFTA_SET_ELEM_KEY);
                self.buf.put_attr(NFTA_DATA_VALUE, key);
                self.buf.end_nest(k)?;
                if timeout_ms > 0 {
                    self.buf.put_u64_be(NFTA_SET_ELEM_TIMEOUT, timeout_ms);
                    self.buf.put_u64_be(NFTA_SET_ELEM_EXPIRATION, timeout_ms);
                }
                self.buf.end_nest(elem)?;
                if self.byte_len() > max_bytes {
                    self.buf.truncate(before);
                    batch_full = true;
                    break;
                }
                if self.buf.since(list) > NLA_MAX_LEN {
                    self.buf.truncate(before);
                    break;
                }
                in_msg += 1;
                if in_msg == self.elements_per_msg {
                    break;
                }
            }
            if in_msg == 0 {
                // Not even one more element fits: drop the empty message.
                self.buf.truncate(msg_start);
                self.msgs.pop();
                break;
            }
            self.buf.end_nest(list)?;
            self.buf.end_msg(m);
            if let Some(last) = self.msgs.last_mut() {
                last.context = format!("add {in_msg} element(s) to set {set}");
            }
            taken += in_msg;
            if batch_full {
                break;
            }
        }
        Ok(taken)
    }

    /// Appends END and numbers the messages from `first_seq`; returns the bytes to send.
    fn finish(&mut self, first_seq: u32) -> &[u8] {
        self.buf.set_seq(self.begin, first_seq);
        for (i, msg) in self.msgs.iter().enumerate() {
            self.buf.set_seq(msg.start, first_seq.wrapping_add(1 + i as u32));
        }
        let end_seq = first_seq.wrapping_add(1 + self.msgs.len() as u32);
        let end = self.buf.begin_msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end_seq);
        put_nfgenmsg(&mut self.buf, 0, NFNL_SUBSYS_NFTABLES);
        self.buf.end_msg(end);
        self.buf.as_bytes()
    }
}

/// `struct nfgenmsg`: family, version, resource id (big-endian).
fn put_nfgenmsg(buf: &mut MsgBuf, family: u8, res_id: u16) {
    let id = res_id.to_be_bytes();
    buf.put_raw(&[family, NFNETLINK_V0, id[0], id[1]]);
}

fn check_name(name: &str) -> Result<(), NetlinkError> {
    if name.is_empty() || name.len() >= NFT_NAME_MAXLEN || name.contains('\0') {
        return Err(NetlinkError::Invalid(format!(
            "nftables name {name:?} (1 to {} bytes, no NUL)",
            NFT_NAME_MAXLEN - 1
        )));
    }
    Ok(())
}

/// A NETLINK_NETFILTER socket that speaks nftables transactions.
pub struct NftSocket {
    sock: Socket,
    seq: u32,
    max_batch: usize,
    elements_per_msg: usize,
    rbuf: Vec<u8>,
    acks: Vec<Ack>,
}

impl fmt::Debug for NftSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NftSocket")
            .field("fd", &self.sock.as_raw_fd())
            .field("seq", &self.seq)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl NftSocket {
    /// Opens a socket in the calling thread's network namespace. Raises the socket buffers
    /// (SO_SNDBUFFORCE works as root; otherwise SO_SNDBUF up to `net.core.wmem_max`).
    pub fn open() -> Result<NftSocket, NetlinkError> {
        let mut sock = Socket::new(NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        // Short ACKs that do not echo our message, and the kernel's error text when it has one.
        // Both are optional (Linux ≥ 4.3 / 4.12); without them parsing still works.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let fd = sock.as_raw_fd();
        for (force, plain) in [(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF), (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)] {
            if set_int_opt(fd, libc::SOL_SOCKET, force, WANT_SOCKET_BUF).is_err() {
                let _ = set_int_opt(fd, libc::SOL_SOCKET, plain, WANT_SOCKET_BUF);
            }
        }
        let sndbuf = get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?;
        set_recv_timeout(fd, ACK_TIMEOUT)?;
        let max_batch = usize::try_from(sndbuf).unwrap_or(0).saturating_sub(SNDBUF_SLACK).min(MAX_BATCH_BYTES);
        Ok(NftSocket {
            sock,
            seq: initial_seq(),
            max_batch,
            elements_per_msg: usize::MAX,
            rbuf: Vec::with_capacity(RECV_BUF_BYTES),
            acks: Vec::new(),
        })
    }

    /// Largest batch this socket sends, in bytes.
    pub fn max_batch_bytes(&self) -> usize {
        self.max_batch
    }

    /// Lowers the batch limit (tests use it to force splitting); never raises it.
    pub fn limit_batch_bytes(&mut self, max: usize) {
        self.max_batch = self.max_batch.min(max.max(256));
    }

    /// Sets the batch size to `bytes` (at least 256), raising the send buffer when it is too
    /// small (SO_SNDBUFFORCE, root only), beyond the default cap; returns the size granted,
    /// smaller than asked when the buffer could not grow. For measurements (`enforcer-bench`).
    pub fn set_batch_bytes(&mut self, bytes: usize) -> Result<usize, NetlinkError> {
        let bytes = bytes.max(256);
        let fd = self.sock.as_raw_fd();
        let mut sndbuf = usize::try_from(get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?).unwrap_or(0);
        if sndbuf < bytes + SNDBUF_SLACK {
            // The kernel doubles what it is given.
            let want = i32::try_from((bytes + SNDBUF_SLACK).div_ceil(2)).unwrap_or(i32::MAX);
            if set_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, want).is_err() {
                let _ = set_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, want);
            }
            sndbuf = usize::try_from(get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?).unwrap_or(0);
        }
        self.max_batch = bytes.min(sndbuf.saturating_sub(SNDBUF_SLACK)).max(256);
        Ok(self.max_batch)
    }

    /// Puts at most `n` elements in each NEWSETELEM message (default: as many as fit in 64 KiB).
    /// Every message is acknowledged, so very short messages in a large batch overflow the
    /// receive buffer: one element a message in 1 MiB batches fails with ENOBUFS (measured).
    pub fn set_elements_per_message(&mut self, n: usize) {
        self.elements_per_msg = n.max(1);
    }

    /// Sends the batch and waits for every message's ACK. On failure the whole batch was
    /// rolled back by the kernel; the error names the first message that failed.
    pub fn commit(&mut self, mut batch: NftBatch) -> Result<(), NetlinkError> {
        self.commit_in_place(&mut batch)
    }

    /// [`commit`](Self::commit) leaving the batch to the caller, to be [`reset`](NftBatch::reset)
    /// and refilled without allocating again.
    fn commit_in_place(&mut self, batch: &mut NftBatch) -> Result<(), NetlinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let first_seq = self.seq;
        let n = batch.msgs.len() as u32;
        self.seq = self.seq.wrapping_add(n + 2);
        let bytes = batch.finish(first_seq);
        self.sock.send(bytes, 0)?;

        let mut answered = vec![false; batch.msgs.len()];
        let mut missing = batch.msgs.len();
        let mut first_error: Option<(usize, Ack)> = None;
        while missing > 0 {
            recv_datagram(&self.sock, &mut self.rbuf, RECV_BUF_BYTES, || {
                first_error
                    .as_ref()
                    .map_or_else(|| batch.msgs[0].context.clone(), |(i, _)| batch.msgs[*i].context.clone())
            })?;
            self.acks.clear();
            parse_acks(&self.rbuf, &mut self.acks)?;
            for ack in self.acks.drain(..) {
                let offset = ack.seq.wrapping_sub(first_seq);
                if offset == 0 || offset == n + 1 {
                    // An answer to BEGIN/END: the batch as a whole was refused (EPERM, …) or
                    // its commit failed; the per-message ACKs, if any follow, say nothing more.
                    if ack.errno != 0 {
                        return Err(NetlinkError::Kernel {
                            errno: ack.errno,
                            context: with_extack(format!("nftables transaction of {n} message(s)"), &ack),
                        });
                    }
                    continue;
                }
                // Sequence numbers outside this batch are left over from an earlier one that
                // timed out: skip them.
                let index = (offset - 1) as usize;
                if index >= answered.len() || answered[index] {
                    continue;
                }
                answered[index] = true;
                missing -= 1;
                if ack.errno != 0 && first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                    first_error = Some((index, ack));
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some((index, ack)) => {
                let msg = &batch.msgs[index];
                let mut context = with_extack(msg.context.clone(), &ack);
                if ack.errno == libc::EEXIST {
                    if let Some(hint) = msg.eexist_hint {
                        context = format!("{context} ({hint})");
                    }
                }
                Err(NetlinkError::Kernel { errno: ack.errno, context })
            }
        }
    }

    /// Creates the table if it is missing.
    pub fn ensure_table(&mut self, family: TableFamily, table: &str) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.add_table(family, table)?;
        self.commit(batch)
    }

    /// Creates the set if it is missing (the table must exist).
    pub fn ensure_set(&mut self, family: TableFamily, table: &str, spec: &SetSpec) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.add_set(family, table, spec)?;
        self.commit(batch)
    }

    pub fn flush_set(&mut self, set: SetRef<'_>) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.flush_set(set)?;
        self.commit(batch)
    }

    /// Whether the set exists (false when it or its table is missing). A read-only lookup
    /// outside any transaction: it takes no commit lock and, unlike a transaction the kernel
    /// refuses (which waits for an RCU grace period in its rollback, several milliseconds),
    /// answers in microseconds, so a periodic check does not hold up the elements behind it.
    pub fn set_exists(&mut self, family: TableFamily, table: &str, set: &str) -> Result<bool, NetlinkError> {
        check_name(table)?;
        check_name(set)?;
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let mut buf = MsgBuf::with_capacity(128);
        let m = buf.begin_msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSET, NLM_F_REQUEST | NLM_F_ACK, seq);
        put_nfgenmsg(&mut buf, family.nfproto(), 0);
        buf.put_str(NFTA_SET_TABLE, table);
        buf.put_str(NFTA_SET_NAME, set);
        buf.end_msg(m);
        self.sock.send(buf.as_bytes(), 0)?;
        // The answer is the set's description (skipped) then the ACK, or an error ACK.
        loop {
            recv_datagram(&self.sock, &mut self.rbuf, RECV_BUF_BYTES, || format!("get set {family} {table} {set}"))?;
            self.acks.clear();
            parse_acks(&self.rbuf, &mut self.acks)?;
            // Answers to an earlier request that timed out carry other numbers.
            if let Some(ack) = self.acks.iter().find(|a| a.seq == seq) {
                return match ack.errno {
                    0 => Ok(true),
                    libc::ENOENT => Ok(false),
                    errno => Err(NetlinkError::Kernel {
                        errno,
                        context: with_extack(format!("get set {family} {table} {set}"), ack),
                    }),
                };
            }
        }
    }

    /// Creates the table and set if the set is missing; true when it had to be created.
    /// One transaction: when the set exists the kernel answers EEXIST and rolls it all back,
    /// so nothing changes; the rollback waits for an RCU grace period, so check with
    /// [`set_exists`](Self::set_exists) first.
    pub fn restore_set_if_missing(
        &mut self,
        family: TableFamily,
        table: &str,
        spec: &SetSpec,
    ) -> Result<bool, NetlinkError> {
        let mut batch = NftBatch::new();
        batch.add_table(family, table)?;
        batch.add_set_exclusive(family, table, spec)?;
        match self.commit(batch) {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn delete_set(&mut self, set: SetRef<'_>) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.delete_set(set)?;
        self.commit(batch)
    }

    /// Adds (or refreshes) elements, in as many batches as the send buffer needs.
    ///
    /// A batch the kernel refuses with ENFILE (set full), EEXIST or EMSGSIZE is split in halves
    /// and retried, down to single elements, so everything that fits gets in; single elements
    /// refused with ENFILE are counted in [`AddReport::refused`]. Any other error (ENOENT: the
    /// table or set is gone) is returned; batches sent before it stay committed.
    pub fn add_elements<K: AsRef<[u8]>>(
        &mut self,
        set: SetRef<'_>,
        keys: &[K],
        timeout_ms: u64,
    ) -> Result<AddReport, NetlinkError> {
        let mut report = AddReport::default();
        self.add_slice(set, keys, timeout_ms, &mut report)?;
        Ok(report)
    }

    fn add_slice<K: AsRef<[u8]>>(
        &mut self,
        set: SetRef<'_>,
        keys: &[K],
        timeout_ms: u64,
        report: &mut AddReport,
    ) -> Result<(), NetlinkError> {
        let mut rest = keys;
        // One encoding buffer for all the batches of this call, sized for a full batch.
        let mut batch = NftBatch::with_capacity(self.max_batch + BATCH_END_LEN);
        batch.set_elements_per_message(self.elements_per_msg);
        while !rest.is_empty() {
            batch.reset();
            let n = batch.add_elements(set, rest, timeout_ms, self.max_batch)?;
            if n == 0 {
                return Err(NetlinkError::Invalid(format!(
                    "one element does not fit in a {}-byte batch",
                    self.max_batch
                )));
            }
            let (now, later) = rest.split_at(n);
            report.batches += 1;
            match self.commit_in_place(&mut batch) {
                Ok(()) => report.accepted += n,
                Err(e) => match e.errno() {
                    Some(libc::ENFILE | libc::EEXIST | libc::EMSGSIZE) if n > 1 => {
                        let (a, b) = now.split_at(n / 2);
                        self.add_slice(set, a, timeout_ms, report)?;
                        self.add_slice(set, b, timeout_ms, report)?;
                    }
                    Some(libc::ENFILE) => report.refused += 1,
                    // Already there: what we wanted (does not happen without NLM_F_EXCL).
                    Some(libc::EEXIST) => report.accepted += 1,
                    _ => return Err(e),
                },
            }
            rest = later;
        }
        Ok(())
    }
}

fn with_extack(context: String, ack: &Ack) -> String {
    match &ack.message {
        Some(text) if !text.is_empty() => format!("{context} ({text})"),
        _ => context,
    }
}

/// Starts sequence numbers from the clock so ACKs left over from a previous socket or a
/// timed-out batch are unlikely to match.
fn initial_seq() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weak_tls_v4() -> KeyLayout {
        KeyLayout::new(vec![KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv4Addr]).unwrap()
    }

    /// Walks the messages of an encoded batch: (type, flags, seq, body).
    fn messages(bytes: &[u8]) -> Vec<(u16, u16, u32, &[u8])> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes([rest[4], rest[5]]);
            let flags = u16::from_ne_bytes([rest[6], rest[7]]);
            let seq = u32::from_ne_bytes(rest[8..12].try_into().unwrap());
            out.push((ty, flags, seq, &rest[16..len]));
            rest = &rest[super::super::align4(len)..];
        }
        out
    }

    /// Top-level attributes after the 4-byte nfgenmsg: (type without flags, nested?, payload).
    fn attrs(body: &[u8]) -> Vec<(u16, bool, &[u8])> {
        let mut out = Vec::new();
        let mut rest = body;
        while rest.len() >= 4 {
            let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
            let ty = u16::from_ne_bytes([rest[2], rest[3]]);
            out.push((ty & 0x3fff, ty & super::super::NLA_F_NESTED != 0, &rest[4..len]));
            rest = &rest[super::super::align4(len).min(rest.len())..];
        }
        out
    }

    #[test]
    fn weak_tls_key_type_matches_nft() {
        // nft: type = ((ipv4_addr << 6 | inet_proto) << 6 | inet_service) << 6 | ipv4_addr.
        let expected = (((7u32 << 6 | 12) << 6 | 13) << 6) | 7;
        assert_eq!(weak_tls_v4().type_id(), expected);
        assert_eq!(weak_tls_v4().type_id(), 0x001c_c347);
        assert_eq!(weak_tls_v4().key_len(), 16);
        assert_eq!(weak_tls_v4().nft_type(), "ipv4_addr . inet_proto . inet_service . ipv4_addr");
        let v6 = KeyLayout::new(vec![KeyType::Ipv6Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv6Addr])
            .unwrap();
        assert_eq!(v6.type_id(), (((8u32 << 6 | 12) << 6 | 13) << 6) | 8);
        assert_eq!(v6.key_len(), 40);
    }

    #[test]
    fn single_field_keys_are_not_padded() {
        let port = KeyLayout::new(vec![KeyType::InetService]).unwrap();
        assert_eq!(port.key_len(), 2);
        assert_eq!(port.type_id(), 13);
        let mut key = Vec::new();
        port.pack(&[&443u16.to_be_bytes()], &mut key).unwrap();
        assert_eq!(key, vec![0x01, 0xbb]);
        let mac = KeyLayout::new(vec![KeyType::EtherAddr, KeyType::Mark]).unwrap();
        assert_eq!(mac.key_len(), 12);
    }

    #[test]
    fn concat_keys_pad_each_field_to_four_bytes() {
        let mut key = Vec::new();
        weak_tls_v4().pack(&[&[192, 168, 1, 10], &[6], &1010u16.to_be_bytes(), &[10, 99, 0, 2]], &mut key).unwrap();
        // nft --debug=netlink prints this element as 0a01a8c0 00000006 0000f203 020063a0
        // (host-order words); in bytes:
        assert_eq!(key, vec![192, 168, 1, 10, 6, 0, 0, 0, 0x03, 0xf2, 0, 0, 10, 99, 0, 2]);
        assert!(weak_tls_v4().pack(&[&[1, 2, 3, 4], &[6], &[0, 1]], &mut key).is_err());
        assert!(weak_tls_v4().pack(&[&[1, 2, 3], &[6], &[0, 1], &[1, 2, 3, 4]], &mut key).is_err());
    }

    #[test]
    fn layouts_out_of_range_are_refused() {
        assert!(KeyLayout::new(vec![]).is_err());
        assert!(KeyLayout::new(vec![KeyType::Mark; 6]).is_err());
        assert!(KeyLayout::new(vec![KeyType::Ipv6Addr; 5]).is_err()); // 80 bytes > 64
    }

    #[test]
    fn newset_carries_type_len_flags_desc_and_timeout() {
        let mut batch = NftBatch::new();
        batch.add_table(TableFamily::Inet, "netify").unwrap();
        let spec = SetSpec { name: "weakssl.v4".into(), key: weak_tls_v4(), size: 65536, timeout_ms: 120_000 };
        batch.add_set(TableFamily::Inet, "netify", &spec).unwrap();
        let bytes = batch.finish(100).to_vec();
        let msgs = messages(&bytes);
        assert_eq!(msgs.len(), 4);
        // BEGIN: family unspec, res_id NFNL_SUBSYS_NFTABLES big-endian.
        assert_eq!(msgs[0].0, 0x10);
        assert_eq!(msgs[0].2, 100);
        assert_eq!(msgs[0].3, &[0, 0, 0, 10]);
        // NEWTABLE: request + ack + create, inet family.
        assert_eq!(msgs[1].0, 10 << 8);
        assert_eq!(msgs[1].1, 0x01 | 0x04 | 0x400);
        assert_eq!(msgs[1].2, 101);
        assert_eq!(&msgs[1].3[..4], &[1, 0, 0, 0]);
        assert_eq!(attrs(&msgs[1].3[4..]), vec![(1, false, &b"netify\0"[..])]);
        // NEWSET.
        assert_eq!(msgs[2].0, (10 << 8) | 9);
        let a = attrs(&msgs[2].3[4..]);
        let get = |t: u16| a.iter().find(|x| x.0 == t).unwrap().2;
        assert_eq!(get(NFTA_SET_NAME), b"weakssl.v4\0");
        assert_eq!(get(NFTA_SET_FLAGS), &(0x10u32 | 0x80).to_be_bytes());
        assert_eq!(get(NFTA_SET_KEY_TYPE), &0x001c_c347u32.to_be_bytes());
        assert_eq!(get(NFTA_SET_KEY_LEN), &16u32.to_be_bytes());
        assert_eq!(get(NFTA_SET_TIMEOUT), &120_000u64.to_be_bytes());
        let desc_entry = a.iter().find(|x| x.0 == NFTA_SET_DESC).unwrap();
        assert!(desc_entry.1, "NFTA_SET_DESC is nested");
        let desc = attrs(desc_entry.2);
        assert_eq!(desc[0], (NFTA_SET_DESC_SIZE, false, &65536u32.to_be_bytes()[..]));
        let concat = attrs(desc[1].2);
        let lens: Vec<u32> = concat
            .iter()
            .map(|(t, nested, inner)| {
                assert_eq!((*t, *nested), (NFTA_LIST_ELEM, true));
                let field = attrs(inner);
                assert_eq!(field[0].0, NFTA_SET_FIELD_LEN);
                u32::from_be_bytes(field[0].2.try_into().unwrap())
            })
            .collect();
        assert_eq!(lens, vec![4, 1, 2, 4]);
        // END.
        assert_eq!(msgs[3].0, 0x11);
        assert_eq!(msgs[3].2, 103);
    }

    #[test]
    fn elements_carry_key_timeout_and_expiration() {
        let mut batch = NftBatch::new();
        let set = SetRef { family: TableFamily::Inet, table: "netify", set: "weakssl.v4" };
        let key = vec![192, 168, 1, 10, 6, 0, 0, 0, 0x03, 0xf2, 0, 0, 10, 99, 0, 2];
        let n = batch.add_elements(set, std::slice::from_ref(&key), 120_000, 1 << 20).unwrap();
        assert_eq!(n, 1);
        let bytes = batch.finish(1).to_vec();
        let msgs = messages(&bytes);
        assert_eq!(msgs[1].0, (10 << 8) | 12);
        assert_eq!(msgs[1].1, 0x01 | 0x04 | 0x400);
        let a = attrs(&msgs[1].3[4..]);
        assert_eq!(a[0], (1, false, &b"netify\0"[..]));
        assert_eq!(a[1], (2, false, &b"weakssl.v4\0"[..]));
        assert_eq!((a[2].0, a[2].1), (NFTA_SET_ELEM_LIST_ELEMENTS, true));
        let elems = attrs(a[2].2);
        assert_eq!(elems.len(), 1);
        let elem = attrs(elems[0].2);
        assert_eq!((elem[0].0, elem[0].1), (NFTA_SET_ELEM_KEY, true));
        assert_eq!(attrs(elem[0].2), vec![(NFTA_DATA_VALUE, false, &key[..])]);
        assert_eq!(elem[1], (NFTA_SET_ELEM_TIMEOUT, false, &120_000u64.to_be_bytes()[..]));
        assert_eq!(elem[2], (NFTA_SET_ELEM_EXPIRATION, false, &120_000u64.to_be_bytes()[..]));
    }

    #[test]
    fn element_batches_respect_the_byte_budget_and_attribute_limit() {
        let set = SetRef { family: TableFamily::Inet, table: "t", set: "s" };
        let keys: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| {
                let mut k = i.to_be_bytes().to_vec();
                k.extend_from_slice(&[6, 0, 0, 0, 0, 80, 0, 0, 1, 2, 3, 4]);
                k
            })
            .collect();
        // A small budget: stops early, stays under it.
        let mut small = NftBatch::new();
        let n = small.add_elements(set, &keys, 1000, 4096).unwrap();
        assert!(n > 10 && n < 100, "{n}");
        assert!(small.byte_len() <= 4096);
        // A large budget: everything, split into several messages below 64 KiB each.
        let mut big = NftBatch::new();
        assert_eq!(big.add_elements(set, &keys, 1000, 1 << 20).unwrap(), 5000);
        assert!(big.len() > 1);
        let bytes = big.finish(1).to_vec();
        let mut total = 0;
        for (ty, _, _, body) in messages(&bytes) {
            if ty == (10 << 8) | 12 {
                let a = attrs(&body[4..]);
                assert!(a[2].2.len() + 4 <= NLA_MAX_LEN);
                total += attrs(a[2].2).len();
            }
        }
        assert_eq!(total, 5000);
        // Nothing fits: no message left behind.
        let mut none = NftBatch::new();
        assert_eq!(none.add_elements(set, &keys, 1000, 64).unwrap(), 0);
        assert!(none.is_empty());
    }

    #[test]
    fn elements_per_message_limit_splits_messages() {
        let set = SetRef { family: TableFamily::Inet, table: "t", set: "s" };
        let keys: Vec<[u8; 4]> = (0..10u32).map(u32::to_be_bytes).collect();
        let mut batch = NftBatch::new();
        batch.set_elements_per_message(4);
        assert_eq!(batch.add_elements(set, &keys, 0, 1 << 20).unwrap(), 10);
        assert_eq!(batch.len(), 3);
        let bytes = batch.finish(1).to_vec();
        let counts: Vec<usize> = messages(&bytes)
            .into_iter()
            .filter(|m| m.0 == (10 << 8) | 12)
            .map(|(_, _, _, body)| attrs(attrs(&body[4..])[2].2).len())
            .collect();
        assert_eq!(counts, vec![4, 4, 2]);
    }

    #[test]
    fn names_are_checked() {
        let mut batch = NftBatch::new();
        assert!(batch.add_table(TableFamily::Inet, "").is_err());
        assert!(batch.add_table(TableFamily::Inet, &"x".repeat(256)).is_err());
        assert!(batch.add_table(TableFamily::Inet, "a\0b").is_err());
        assert!(batch.add_table(TableFamily::Inet, &"x".repeat(255)).is_ok());
    }

    #[test]
    fn ct_label_rule_is_immediate_then_ct_set() {
        let mut batch = NftBatch::new();
        batch.add_chain(TableFamily::Inet, "flowsieve", "ctlabel_init").unwrap();
        batch.flush_chain(TableFamily::Inet, "flowsieve", "ctlabel_init").unwrap();
        batch.add_ct_label_set_rule(TableFamily::Inet, "flowsieve", "ctlabel_init", 65).unwrap();
        assert!(batch.add_ct_label_set_rule(TableFamily::Inet, "t", "c", 128).is_err());
        let bytes = batch.finish(1).to_vec();
        let msgs = messages(&bytes);
        assert_eq!(msgs[1].0, (10 << 8) | 3);
        assert_eq!(attrs(&msgs[1].3[4..]), vec![(1, false, &b"flowsieve\0"[..]), (3, false, &b"ctlabel_init\0"[..])]);
        assert_eq!((msgs[2].0, msgs[2].1), ((10 << 8) | 8, 0x01 | 0x04));
        assert_eq!(msgs[3].0, (10 << 8) | 6);
        assert_eq!(msgs[3].1, 0x01 | 0x04 | 0x400 | 0x800);
        let a = attrs(&msgs[3].3[4..]);
        let exprs = attrs(a[2].2);
        assert_eq!(exprs.len(), 2);
        let imm = attrs(exprs[0].2);
        assert_eq!(imm[0], (NFTA_EXPR_NAME, false, &b"immediate\0"[..]));
        let imm_data = attrs(imm[1].2);
        assert_eq!(imm_data[0], (NFTA_IMMEDIATE_DREG, false, &1u32.to_be_bytes()[..]));
        let value = attrs(imm_data[1].2);
        let mut expected = [0u8; 16];
        expected[8..].copy_from_slice(&2u64.to_ne_bytes()); // bit 65 = bit 1 of the second word
        assert_eq!(value, vec![(NFTA_DATA_VALUE, false, &expected[..])]);
        let ct = attrs(exprs[1].2);
        assert_eq!(ct[0], (NFTA_EXPR_NAME, false, &b"ct\0"[..]));
        assert_eq!(
            attrs(ct[1].2),
            vec![(NFTA_CT_KEY, false, &13u32.to_be_bytes()[..]), (NFTA_CT_SREG, false, &1u32.to_be_bytes()[..])]
        );
    }

    #[test]
    fn families_round_trip() {
        for name in ["inet", "ip", "ip6", "bridge", "netdev"] {
            assert_eq!(TableFamily::from_name(name).unwrap().as_str(), name);
        }
        assert_eq!(TableFamily::from_name("arp6"), None);
    }
}

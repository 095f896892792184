//! One nftables transaction being built: an nfnetlink batch of table, chain, rule, set and
//! element messages, each asking for an ACK.

use super::super::{
    Mark, MsgBuf, NetlinkError, NLA_MAX_LEN, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use super::uapi::*;
use super::{SetRef, SetSpec, TableFamily};

#[derive(Debug)]
pub(super) struct BatchMsg {
    pub(super) start: Mark,
    pub(super) context: String,
    /// Extra words for the error when the kernel answers EEXIST.
    pub(super) eexist_hint: Option<&'static str>,
}

/// One nftables transaction being built. Sequence numbers are assigned by
/// [`NftSocket::commit`](super::NftSocket::commit), so a batch can be built (and inspected in tests) without a socket.
#[derive(Debug)]
pub struct NftBatch {
    pub(super) buf: MsgBuf,
    pub(super) begin: Mark,
    pub(super) msgs: Vec<BatchMsg>,
    pub(super) next_set_id: u32,
    /// Most elements [`add_elements`](Self::add_elements) puts in one NEWSETELEM message.
    pub(super) elements_per_msg: usize,
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
        // Marks the set as flowsieve's (ignored by the kernel for an existing set).
        self.buf.put_attr(NFTA_SET_USERDATA, SET_OWNER_MARK);
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
    pub(super) fn finish(&mut self, first_seq: u32) -> &[u8] {
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
pub(super) fn put_nfgenmsg(buf: &mut MsgBuf, family: u8, res_id: u16) {
    let id = res_id.to_be_bytes();
    buf.put_raw(&[family, NFNETLINK_V0, id[0], id[1]]);
}

pub(super) fn check_name(name: &str) -> Result<(), NetlinkError> {
    if name.is_empty() || name.len() >= NFT_NAME_MAXLEN || name.contains('\0') {
        return Err(NetlinkError::Invalid(format!(
            "nftables name {name:?} (1 to {} bytes, no NUL)",
            NFT_NAME_MAXLEN - 1
        )));
    }
    Ok(())
}

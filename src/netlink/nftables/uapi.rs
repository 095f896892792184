//! Constants of the kernel UAPI headers `linux/netfilter/nfnetlink.h` and
//! `linux/netfilter/nf_tables.h`, and limits that follow from them.

use super::super::NLMSG_HDRLEN;

// linux/netfilter/nfnetlink.h
pub(super) const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub(super) const NFNL_MSG_BATCH_BEGIN: u16 = 0x10; // NLMSG_MIN_TYPE
pub(super) const NFNL_MSG_BATCH_END: u16 = 0x11;
pub(super) const NFNETLINK_V0: u8 = 0;

// enum nf_tables_msg_types
pub(super) const NFT_MSG_NEWTABLE: u16 = 0;
pub(super) const NFT_MSG_NEWCHAIN: u16 = 3;
pub(super) const NFT_MSG_NEWRULE: u16 = 6;
pub(super) const NFT_MSG_DELRULE: u16 = 8;
pub(super) const NFT_MSG_NEWSET: u16 = 9;
pub(super) const NFT_MSG_GETSET: u16 = 10;
pub(super) const NFT_MSG_DELSET: u16 = 11;
pub(super) const NFT_MSG_NEWSETELEM: u16 = 12;
pub(super) const NFT_MSG_DELSETELEM: u16 = 14;

// enum nft_table_attributes
pub(super) const NFTA_TABLE_NAME: u16 = 1;

// enum nft_chain_attributes, nft_rule_attributes, nft_expr_attributes
pub(super) const NFTA_CHAIN_TABLE: u16 = 1;
pub(super) const NFTA_CHAIN_NAME: u16 = 3;
pub(super) const NFTA_RULE_TABLE: u16 = 1;
pub(super) const NFTA_RULE_CHAIN: u16 = 2;
pub(super) const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub(super) const NFTA_EXPR_NAME: u16 = 1;
pub(super) const NFTA_EXPR_DATA: u16 = 2;
// enum nft_immediate_attributes, nft_ct_attributes, nft_ct_keys, nft_registers
pub(super) const NFTA_IMMEDIATE_DREG: u16 = 1;
pub(super) const NFTA_IMMEDIATE_DATA: u16 = 2;
pub(super) const NFTA_CT_KEY: u16 = 2;
pub(super) const NFTA_CT_SREG: u16 = 4;
pub(super) const NFT_CT_LABELS: u32 = 13;
/// The first 16-byte data register (`NFT_REG_1`), wide enough for the 128 label bits.
pub(super) const NFT_REG_1: u32 = 1;
/// Highest conntrack label bit (`NF_CT_LABELS_MAX_SIZE` = 16 bytes).
pub const CT_LABEL_MAX_BIT: u8 = 127;

// enum nft_set_attributes
pub(super) const NFTA_SET_TABLE: u16 = 1;
pub(super) const NFTA_SET_NAME: u16 = 2;
pub(super) const NFTA_SET_FLAGS: u16 = 3;
pub(super) const NFTA_SET_KEY_TYPE: u16 = 4;
pub(super) const NFTA_SET_KEY_LEN: u16 = 5;
pub(super) const NFTA_SET_DESC: u16 = 9;
pub(super) const NFTA_SET_ID: u16 = 10;
pub(super) const NFTA_SET_TIMEOUT: u16 = 11;
pub(super) const NFTA_SET_USERDATA: u16 = 13;

/// The set's user data flowsieve writes on the sets it creates: one nft comment TLV (type 7,
/// `NFTNL_UDATA_SET_COMMENT`, a NUL-terminated string), which `nft list` shows as
/// `comment "managed by flowsieve"`. Sets without it are not flowsieve's to flush or delete.
pub const SET_OWNER_MARK: &[u8] = b"\x07\x15managed by flowsieve\x00";

// enum nft_set_desc_attributes, nft_set_field_attributes, nft_list_attributes
pub(super) const NFTA_SET_DESC_SIZE: u16 = 1;
pub(super) const NFTA_SET_DESC_CONCAT: u16 = 2;
pub(super) const NFTA_SET_FIELD_LEN: u16 = 1;
pub(super) const NFTA_LIST_ELEM: u16 = 1;

// enum nft_set_flags
pub(super) const NFT_SET_TIMEOUT: u32 = 0x10;
pub(super) const NFT_SET_CONCAT: u32 = 0x80;

// enum nft_set_elem_list_attributes, nft_set_elem_attributes, nft_data_attributes
pub(super) const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub(super) const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub(super) const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
pub(super) const NFTA_SET_ELEM_KEY: u16 = 1;
pub(super) const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
pub(super) const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
pub(super) const NFTA_DATA_VALUE: u16 = 1;

/// `NFT_NAME_MAXLEN` counts the terminating NUL.
pub(super) const NFT_NAME_MAXLEN: usize = 256;
/// `NFT_DATA_VALUE_MAXLEN`: the longest key (16 32-bit registers).
pub(super) const NFT_DATA_VALUE_MAXLEN: usize = 64;
/// nft packs one field's type id into 6 bits of the 32-bit key type (`TYPE_BITS` in nft's
/// datatype.h), so at most 5 fields keep a type that `nft list` can print.
pub(super) const CONCAT_TYPE_BITS: u32 = 6;
pub(super) const MAX_CONCAT_FIELDS: usize = 5;

/// `nlmsghdr` + `nfgenmsg`: the size of BATCH_END, reserved when filling a batch.
pub(super) const BATCH_END_LEN: usize = NLMSG_HDRLEN + 4;

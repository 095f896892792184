use super::super::NLA_MAX_LEN;
use super::uapi::*;
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
    let v6 =
        KeyLayout::new(vec![KeyType::Ipv6Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv6Addr]).unwrap();
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

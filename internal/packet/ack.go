package packet

func ackFlags(t Type) byte {
	if t == PUBREL {
		return 0x02
	}
	return 0
}

func isAckType(t Type) bool { return t >= PUBACK && t <= PUBCOMP }

func (a *Ack) sizes(v Version) (n, pl int, err error) {
	if !isAckType(a.PacketType) {
		return 0, 0, errorf(ProtocolError, "Ack with type %s: use PUBACK, PUBREC, PUBREL or PUBCOMP", a.PacketType)
	}
	if a.PacketID == 0 {
		return 0, 0, errorf(ProtocolError, "%s needs a non-zero packet identifier", a.PacketType)
	}
	n = 2
	if v == V5 {
		if pl, err = a.Properties.size(a.PacketType); err != nil {
			return 0, 0, err
		}
		switch {
		case pl > 0:
			n += 1 + VarIntLen(uint32(pl)) + pl
		case a.ReasonCode != Success:
			n++
		}
	}
	return n, pl, checkRemaining(a.PacketType, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (a *Ack) EncodedLen(v Version) (int, error) {
	n, _, err := a.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the PUBACK, PUBREC, PUBREL or PUBCOMP packet. In MQTT 5 the reason code
// and properties are omitted when they are Success and empty ([MQTT-3.4.2-1] allows it).
func (a *Ack) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := a.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(a.PacketType)<<4|ackFlags(a.PacketType), n)
	dst = appendU16(dst, a.PacketID)
	if n > 2 {
		dst = append(dst, byte(a.ReasonCode))
		if n > 3 {
			dst = a.Properties.appendTo(dst, pl)
		}
	}
	return dst, nil
}

// DecodeInto decodes a PUBACK, PUBREC, PUBREL or PUBCOMP (the type comes from first).
func (a *Ack) DecodeInto(first byte, body []byte, v Version) error {
	a.PacketType = Type(first >> 4)
	a.PacketID, a.ReasonCode = 0, Success
	a.Properties.Reset()
	if !isAckType(a.PacketType) {
		return errorf(MalformedPacket, "packet type %s decoded as an acknowledgement", a.PacketType)
	}
	if err := checkFlags(first, ackFlags(a.PacketType), v); err != nil {
		return err
	}
	d := decoder{b: body}
	a.PacketID = d.u16("packet identifier")
	if d.err == nil && a.PacketID == 0 {
		return errorf(ProtocolError, "%s with packet identifier 0 [MQTT-2.2.1-3]", a.PacketType)
	}
	if v == V5 && len(d.b) > 0 {
		a.ReasonCode = ReasonCode(d.u8("reason code"))
		if !validReasons[a.PacketType].has(a.ReasonCode) {
			return errorf(ProtocolError, "reason code 0x%02X is not valid in %s", byte(a.ReasonCode), a.PacketType)
		}
		if len(d.b) > 0 {
			d.props(&a.Properties, a.PacketType)
		}
	}
	d.end(a.PacketType)
	return d.result()
}

// Subscription option bits (MQTT 5 section 3.8.3.1).
const (
	subQoSMask           = 0x03
	subNoLocal           = 0x04
	subRetainAsPublished = 0x08
	subRetainHandling    = 4
)

func (s *Subscribe) sizes(v Version) (n, pl int, err error) {
	if s.PacketID == 0 {
		return 0, 0, errorf(ProtocolError, "SUBSCRIBE needs a non-zero packet identifier")
	}
	if len(s.Subscriptions) == 0 {
		return 0, 0, errorf(ProtocolError, "SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-2]")
	}
	n = 2
	for _, sub := range s.Subscriptions {
		if sub.QoS > 2 || sub.RetainHandling > 2 {
			return 0, 0, errorf(ProtocolError, "subscription %q: QoS %d and retain handling %d must be 0, 1 or 2", sub.Filter, sub.QoS, sub.RetainHandling)
		}
		if err := checkLens(len(sub.Filter)); err != nil {
			return 0, 0, err
		}
		n += 2 + len(sub.Filter) + 1
	}
	if v == V5 {
		if pl, err = s.Properties.size(SUBSCRIBE); err != nil {
			return 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl
	}
	return n, pl, checkRemaining(SUBSCRIBE, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (s *Subscribe) EncodedLen(v Version) (int, error) {
	n, _, err := s.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the SUBSCRIBE packet. Options other than QoS are written for MQTT 5
// only.
func (s *Subscribe) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := s.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(SUBSCRIBE)<<4|0x02, n)
	dst = appendU16(dst, s.PacketID)
	if v == V5 {
		dst = s.Properties.appendTo(dst, pl)
	}
	for _, sub := range s.Subscriptions {
		dst = appendStr(dst, sub.Filter)
		o := sub.QoS
		if v == V5 {
			if sub.NoLocal {
				o |= subNoLocal
			}
			if sub.RetainAsPublished {
				o |= subRetainAsPublished
			}
			o |= sub.RetainHandling << subRetainHandling
		}
		dst = append(dst, o)
	}
	return dst, nil
}

// DecodeInto decodes a SUBSCRIBE, reusing s.Subscriptions' capacity. It checks the
// encoding of each filter (UTF-8) but not its wildcard syntax, so that a server can refuse
// single filters in SUBACK: call ValidTopicFilter for each.
func (s *Subscribe) DecodeInto(first byte, body []byte, v Version) error {
	s.PacketID = 0
	s.Subscriptions = s.Subscriptions[:0]
	s.Properties.Reset()
	if err := checkType(first, SUBSCRIBE); err != nil {
		return err
	}
	if err := checkFlags(first, 0x02, v); err != nil {
		return err
	}
	d := decoder{b: body}
	s.PacketID = d.u16("packet identifier")
	if d.err == nil && s.PacketID == 0 {
		return errorf(ProtocolError, "SUBSCRIBE with packet identifier 0 [MQTT-2.2.1-3]")
	}
	if v == V5 {
		d.props(&s.Properties, SUBSCRIBE)
	}
	for d.err == nil && len(d.b) > 0 {
		filter := d.str("topic filter")
		o := d.u8("subscription options")
		if d.err != nil {
			break
		}
		sub := Subscription{Filter: filter, QoS: o & subQoSMask}
		if v == V5 {
			if o&0xC0 != 0 {
				return errorf(MalformedPacket, "subscription options 0x%02X have reserved bits set [MQTT-3.8.3-5]", o)
			}
			sub.NoLocal = o&subNoLocal != 0
			sub.RetainAsPublished = o&subRetainAsPublished != 0
			sub.RetainHandling = o >> subRetainHandling & 0x03
			if sub.QoS == 3 {
				return errorf(ProtocolError, "subscription %q with QoS 3", filter)
			}
			if sub.RetainHandling == 3 {
				return errorf(ProtocolError, "subscription %q with retain handling 3", filter)
			}
			if sub.NoLocal && IsShared(filter) {
				return errorf(ProtocolError, "No Local on shared subscription %q [MQTT-3.8.3-4]", filter)
			}
		} else if o&^subQoSMask != 0 || sub.QoS == 3 {
			// [MQTT-3-8.3-4] in 3.1.1: reserved bits or QoS 3 make the packet malformed.
			return errorf(MalformedPacket, "subscription %q has invalid requested QoS byte 0x%02X", filter, o)
		}
		s.Subscriptions = append(s.Subscriptions, sub)
	}
	if d.err != nil {
		return d.err
	}
	if len(s.Subscriptions) == 0 {
		return errorf(ProtocolError, "SUBSCRIBE without topic filters [MQTT-3.8.3-2]")
	}
	return nil
}

func (s *Suback) sizes(v Version) (n, pl int, err error) {
	if s.PacketID == 0 {
		return 0, 0, errorf(ProtocolError, "SUBACK needs a non-zero packet identifier")
	}
	n = 2 + len(s.ReasonCodes)
	if v == V5 {
		if pl, err = s.Properties.size(SUBACK); err != nil {
			return 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl
	}
	return n, pl, checkRemaining(SUBACK, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (s *Suback) EncodedLen(v Version) (int, error) {
	n, _, err := s.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the SUBACK packet. For 3.1 / 3.1.1 every failure code is written as
// 0x80.
func (s *Suback) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := s.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(SUBACK)<<4, n)
	dst = appendU16(dst, s.PacketID)
	if v == V5 {
		dst = s.Properties.appendTo(dst, pl)
	}
	for _, rc := range s.ReasonCodes {
		if v != V5 && rc >= 0x80 {
			rc = V3SubackFailure
		}
		dst = append(dst, byte(rc))
	}
	return dst, nil
}

// DecodeInto decodes a SUBACK, reusing s.ReasonCodes' capacity.
func (s *Suback) DecodeInto(first byte, body []byte, v Version) error {
	s.PacketID = 0
	s.ReasonCodes = s.ReasonCodes[:0]
	s.Properties.Reset()
	if err := checkType(first, SUBACK); err != nil {
		return err
	}
	if err := checkFlags(first, 0, v); err != nil {
		return err
	}
	d := decoder{b: body}
	s.PacketID = d.u16("packet identifier")
	if d.err == nil && s.PacketID == 0 {
		return errorf(ProtocolError, "SUBACK with packet identifier 0 [MQTT-2.2.1-3]")
	}
	if v == V5 {
		d.props(&s.Properties, SUBACK)
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) == 0 {
		return errorf(ProtocolError, "SUBACK without reason codes")
	}
	for _, b := range d.b {
		rc := ReasonCode(b)
		if v == V5 {
			if !validReasons[SUBACK].has(rc) {
				return errorf(ProtocolError, "reason code 0x%02X is not valid in SUBACK", b)
			}
		} else if rc > GrantedQoS2 && rc != V3SubackFailure {
			return errorf(MalformedPacket, "SUBACK return code 0x%02X: expected 0, 1, 2 or 0x80", b)
		}
		s.ReasonCodes = append(s.ReasonCodes, rc)
	}
	return nil
}

func (u *Unsubscribe) sizes(v Version) (n, pl int, err error) {
	if u.PacketID == 0 {
		return 0, 0, errorf(ProtocolError, "UNSUBSCRIBE needs a non-zero packet identifier")
	}
	if len(u.Filters) == 0 {
		return 0, 0, errorf(ProtocolError, "UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]")
	}
	n = 2
	for _, f := range u.Filters {
		if err := checkLens(len(f)); err != nil {
			return 0, 0, err
		}
		n += 2 + len(f)
	}
	if v == V5 {
		if pl, err = u.Properties.size(UNSUBSCRIBE); err != nil {
			return 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl
	}
	return n, pl, checkRemaining(UNSUBSCRIBE, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (u *Unsubscribe) EncodedLen(v Version) (int, error) {
	n, _, err := u.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the UNSUBSCRIBE packet.
func (u *Unsubscribe) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := u.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(UNSUBSCRIBE)<<4|0x02, n)
	dst = appendU16(dst, u.PacketID)
	if v == V5 {
		dst = u.Properties.appendTo(dst, pl)
	}
	for _, f := range u.Filters {
		dst = appendStr(dst, f)
	}
	return dst, nil
}

// DecodeInto decodes an UNSUBSCRIBE, reusing u.Filters' capacity. Filter syntax is not
// checked (see Subscribe.DecodeInto).
func (u *Unsubscribe) DecodeInto(first byte, body []byte, v Version) error {
	u.PacketID = 0
	u.Filters = u.Filters[:0]
	u.Properties.Reset()
	if err := checkType(first, UNSUBSCRIBE); err != nil {
		return err
	}
	if err := checkFlags(first, 0x02, v); err != nil {
		return err
	}
	d := decoder{b: body}
	u.PacketID = d.u16("packet identifier")
	if d.err == nil && u.PacketID == 0 {
		return errorf(ProtocolError, "UNSUBSCRIBE with packet identifier 0 [MQTT-2.2.1-3]")
	}
	if v == V5 {
		d.props(&u.Properties, UNSUBSCRIBE)
	}
	for d.err == nil && len(d.b) > 0 {
		f := d.str("topic filter")
		if d.err == nil {
			u.Filters = append(u.Filters, f)
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(u.Filters) == 0 {
		return errorf(ProtocolError, "UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]")
	}
	return nil
}

func (u *Unsuback) sizes(v Version) (n, pl int, err error) {
	if u.PacketID == 0 {
		return 0, 0, errorf(ProtocolError, "UNSUBACK needs a non-zero packet identifier")
	}
	n = 2
	if v == V5 {
		if pl, err = u.Properties.size(UNSUBACK); err != nil {
			return 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl + len(u.ReasonCodes)
	}
	return n, pl, checkRemaining(UNSUBACK, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (u *Unsuback) EncodedLen(v Version) (int, error) {
	n, _, err := u.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the UNSUBACK packet; reason codes and properties only for MQTT 5.
func (u *Unsuback) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := u.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(UNSUBACK)<<4, n)
	dst = appendU16(dst, u.PacketID)
	if v == V5 {
		dst = u.Properties.appendTo(dst, pl)
		for _, rc := range u.ReasonCodes {
			dst = append(dst, byte(rc))
		}
	}
	return dst, nil
}

// DecodeInto decodes an UNSUBACK, reusing u.ReasonCodes' capacity.
func (u *Unsuback) DecodeInto(first byte, body []byte, v Version) error {
	u.PacketID = 0
	u.ReasonCodes = u.ReasonCodes[:0]
	u.Properties.Reset()
	if err := checkType(first, UNSUBACK); err != nil {
		return err
	}
	if err := checkFlags(first, 0, v); err != nil {
		return err
	}
	d := decoder{b: body}
	u.PacketID = d.u16("packet identifier")
	if d.err == nil && u.PacketID == 0 {
		return errorf(ProtocolError, "UNSUBACK with packet identifier 0 [MQTT-2.2.1-3]")
	}
	if v == V5 {
		d.props(&u.Properties, UNSUBACK)
		if d.err != nil {
			return d.err
		}
		if len(d.b) == 0 {
			return errorf(ProtocolError, "UNSUBACK without reason codes")
		}
		for _, b := range d.b {
			if !validReasons[UNSUBACK].has(ReasonCode(b)) {
				return errorf(ProtocolError, "reason code 0x%02X is not valid in UNSUBACK", b)
			}
			u.ReasonCodes = append(u.ReasonCodes, ReasonCode(b))
		}
		return nil
	}
	d.end(UNSUBACK)
	return d.result()
}

func decodeEmpty(first byte, body []byte, t Type) error {
	if err := checkType(first, t); err != nil {
		return err
	}
	if err := checkFlags(first, 0, V311); err != nil {
		return err
	}
	if len(body) != 0 {
		return errorf(MalformedPacket, "%s with %d bytes of body, expected none", t, len(body))
	}
	return nil
}

// EncodedLen returns 2.
func (*Pingreq) EncodedLen(Version) (int, error) { return 2, nil }

// AppendTo appends the PINGREQ packet.
func (*Pingreq) AppendTo(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGREQ)<<4, 0), nil
}

// DecodeInto checks a PINGREQ.
func (*Pingreq) DecodeInto(first byte, body []byte, _ Version) error {
	return decodeEmpty(first, body, PINGREQ)
}

// EncodedLen returns 2.
func (*Pingresp) EncodedLen(Version) (int, error) { return 2, nil }

// AppendTo appends the PINGRESP packet.
func (*Pingresp) AppendTo(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGRESP)<<4, 0), nil
}

// DecodeInto checks a PINGRESP.
func (*Pingresp) DecodeInto(first byte, body []byte, _ Version) error {
	return decodeEmpty(first, body, PINGRESP)
}

// reasonAndProps sizes the body shared by DISCONNECT and AUTH in MQTT 5: nothing when the
// code is Success without properties, the code alone without properties, else both.
func reasonAndProps(t Type, rc ReasonCode, p *Properties) (n, pl int, err error) {
	if pl, err = p.size(t); err != nil {
		return 0, 0, err
	}
	switch {
	case pl > 0:
		n = 1 + VarIntLen(uint32(pl)) + pl
	case rc != Success:
		n = 1
	}
	return n, pl, nil
}

func (m *Disconnect) sizes(v Version) (n, pl int, err error) {
	if v != V5 {
		return 0, 0, nil
	}
	return reasonAndProps(DISCONNECT, m.ReasonCode, &m.Properties)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (m *Disconnect) EncodedLen(v Version) (int, error) {
	n, _, err := m.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the DISCONNECT packet; reason code and properties only for MQTT 5.
func (m *Disconnect) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := m.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(DISCONNECT)<<4, n)
	if n > 0 {
		dst = append(dst, byte(m.ReasonCode))
		if n > 1 {
			dst = m.Properties.appendTo(dst, pl)
		}
	}
	return dst, nil
}

// DecodeInto decodes a DISCONNECT.
func (m *Disconnect) DecodeInto(first byte, body []byte, v Version) error {
	m.ReasonCode = NormalDisconnection
	m.Properties.Reset()
	if v != V5 {
		return decodeEmpty(first, body, DISCONNECT)
	}
	if err := checkType(first, DISCONNECT); err != nil {
		return err
	}
	if err := checkFlags(first, 0, v); err != nil {
		return err
	}
	return decodeReasonAndProps(DISCONNECT, body, &m.ReasonCode, &m.Properties)
}

func decodeReasonAndProps(t Type, body []byte, rc *ReasonCode, p *Properties) error {
	d := decoder{b: body}
	if len(d.b) > 0 {
		*rc = ReasonCode(d.u8("reason code"))
		if !validReasons[t].has(*rc) {
			return errorf(ProtocolError, "reason code 0x%02X is not valid in %s", byte(*rc), t)
		}
		if len(d.b) > 0 {
			d.props(p, t)
		}
	}
	d.end(t)
	return d.result()
}

func (m *Auth) sizes(v Version) (n, pl int, err error) {
	if v != V5 {
		return 0, 0, errorf(ProtocolError, "AUTH exists in MQTT 5 only, not in %s", v)
	}
	if m.ReasonCode != Success && !m.Properties.Has(PropAuthenticationMethod) {
		return 0, 0, errorf(ProtocolError, "AUTH with reason code 0x%02X needs an Authentication Method", byte(m.ReasonCode))
	}
	return reasonAndProps(AUTH, m.ReasonCode, &m.Properties)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (m *Auth) EncodedLen(v Version) (int, error) {
	n, _, err := m.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the AUTH packet (MQTT 5 only).
func (m *Auth) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := m.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(AUTH)<<4, n)
	if n > 0 {
		dst = append(dst, byte(m.ReasonCode))
		if n > 1 {
			dst = m.Properties.appendTo(dst, pl)
		}
	}
	return dst, nil
}

// DecodeInto decodes an AUTH packet; before MQTT 5 type 15 is reserved and malformed.
func (m *Auth) DecodeInto(first byte, body []byte, v Version) error {
	m.ReasonCode = Success
	m.Properties.Reset()
	if err := checkType(first, AUTH); err != nil {
		return err
	}
	if v != V5 {
		return errorf(MalformedPacket, "packet type 15 is reserved before MQTT 5")
	}
	if err := checkFlags(first, 0, v); err != nil {
		return err
	}
	if err := decodeReasonAndProps(AUTH, body, &m.ReasonCode, &m.Properties); err != nil {
		return err
	}
	if m.ReasonCode != Success && !m.Properties.Has(PropAuthenticationMethod) {
		return errorf(ProtocolError, "AUTH with reason code 0x%02X omits the Authentication Method", byte(m.ReasonCode))
	}
	return nil
}

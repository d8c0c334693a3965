package packet

const (
	protoMQTT   = "MQTT"
	protoMQIsdp = "MQIsdp"
)

// CONNECT flag bits ([MQTT-3.1.2-3] and following).
const (
	connReserved     = 0x01
	connCleanStart   = 0x02
	connWill         = 0x04
	connWillQoSShift = 3
	connWillRetain   = 0x20
	connPassword     = 0x40
	connUsername     = 0x80
)

func (c *Connect) version(v Version) Version {
	if c.Version != 0 {
		return c.Version
	}
	return v
}

func (c *Connect) protocolName(v Version) string {
	if c.ProtocolName != "" {
		return c.ProtocolName
	}
	if v == V31 {
		return protoMQIsdp
	}
	return protoMQTT
}

func (c *Connect) hasUsername() bool { return c.UsernameFlag || c.Username != "" }
func (c *Connect) hasPassword() bool { return c.PasswordFlag || c.Password != nil }

// sizes returns the remaining length and the two property lengths (MQTT 5 only).
func (c *Connect) sizes(v Version) (n, pl, wpl int, err error) {
	v = c.version(v)
	if !v.Valid() {
		return 0, 0, 0, errorf(UnsupportedProtocolVersion, "protocol version %d: use 3 (3.1), 4 (3.1.1) or 5", byte(v))
	}
	if c.WillQoS > 2 {
		return 0, 0, 0, errorf(MalformedPacket, "will QoS %d: must be 0, 1 or 2", c.WillQoS)
	}
	if !c.WillFlag && (c.WillQoS != 0 || c.WillRetain) {
		return 0, 0, 0, errorf(MalformedPacket, "will QoS or retain set without a will: set WillFlag")
	}
	if v != V5 && c.hasPassword() && !c.hasUsername() {
		return 0, 0, 0, errorf(ProtocolError, "password without user name is not allowed before MQTT 5: set a user name")
	}
	name := c.protocolName(v)
	if err := checkLens(len(name), len(c.ClientID), len(c.WillTopic), len(c.WillPayload), len(c.Username), len(c.Password)); err != nil {
		return 0, 0, 0, err
	}
	n = 2 + len(name) + 1 + 1 + 2 + 2 + len(c.ClientID)
	if v == V5 {
		if pl, err = c.Properties.size(CONNECT); err != nil {
			return 0, 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl
	}
	if c.WillFlag {
		if v == V5 {
			if wpl, err = c.WillProperties.size(willKind); err != nil {
				return 0, 0, 0, err
			}
			n += VarIntLen(uint32(wpl)) + wpl
		}
		n += 2 + len(c.WillTopic) + 2 + len(c.WillPayload)
	}
	if c.hasUsername() {
		n += 2 + len(c.Username)
	}
	if c.hasPassword() {
		n += 2 + len(c.Password)
	}
	return n, pl, wpl, checkRemaining(CONNECT, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (c *Connect) EncodedLen(v Version) (int, error) {
	n, _, _, err := c.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the CONNECT packet. The protocol version is c.Version, or v when that
// is zero.
func (c *Connect) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, wpl, err := c.sizes(v)
	if err != nil {
		return dst, err
	}
	v = c.version(v)
	dst = header(dst, byte(CONNECT)<<4, n)
	dst = appendStr(dst, c.protocolName(v))
	dst = append(dst, byte(v))
	var flags byte
	if c.CleanStart {
		flags |= connCleanStart
	}
	if c.WillFlag {
		flags |= connWill | c.WillQoS<<connWillQoSShift
		if c.WillRetain {
			flags |= connWillRetain
		}
	}
	if c.hasPassword() {
		flags |= connPassword
	}
	if c.hasUsername() {
		flags |= connUsername
	}
	dst = append(dst, flags)
	dst = appendU16(dst, c.KeepAlive)
	if v == V5 {
		dst = c.Properties.appendTo(dst, pl)
	}
	dst = appendStr(dst, c.ClientID)
	if c.WillFlag {
		if v == V5 {
			dst = c.WillProperties.appendTo(dst, wpl)
		}
		dst = appendStr(dst, c.WillTopic)
		dst = appendBin(dst, c.WillPayload)
	}
	if c.hasUsername() {
		dst = appendStr(dst, c.Username)
	}
	if c.hasPassword() {
		dst = appendBin(dst, c.Password)
	}
	return dst, nil
}

// DecodeInto decodes a CONNECT. The version comes from the packet; v is ignored. When the
// protocol name or level is not supported the error's code is UnsupportedProtocolVersion
// and c.ProtocolName and c.Version are already set, so a server can answer with a CONNACK
// in the client's version ([MQTT-3.1.2-2]).
func (c *Connect) DecodeInto(first byte, body []byte, _ Version) error {
	// Field by field: a composite literal here would build a whole Connect
	// (two Properties) in this frame, and CONNECT is decoded on a fresh
	// goroutine's small stack.
	c.ProtocolName, c.Version, c.CleanStart, c.KeepAlive, c.ClientID = "", 0, false, 0, ""
	c.WillFlag, c.WillQoS, c.WillRetain, c.WillTopic, c.WillPayload = false, 0, false, "", nil
	c.UsernameFlag, c.Username, c.PasswordFlag, c.Password = false, "", false, nil
	c.Properties.Reset()
	c.WillProperties.Reset()
	if err := checkType(first, CONNECT); err != nil {
		return err
	}
	if err := checkFlags(first, 0, V311); err != nil {
		return err
	}
	d := decoder{b: body}
	name := d.bin("protocol name")
	level := Version(d.u8("protocol level"))
	if d.err != nil {
		return d.err
	}
	switch string(name) { // the known names without a copy each
	case protoMQTT:
		c.ProtocolName = protoMQTT
	case protoMQIsdp:
		c.ProtocolName = protoMQIsdp
	default:
		c.ProtocolName = string(name)
	}
	c.Version = level
	switch {
	case c.ProtocolName == protoMQTT && (level == V311 || level == V5):
	case c.ProtocolName == protoMQIsdp && level == V31:
	default:
		return errorf(UnsupportedProtocolVersion, "protocol %q level %d is not supported: use MQTT 3.1 (MQIsdp/3), 3.1.1 (MQTT/4) or 5 (MQTT/5)", c.ProtocolName, byte(level))
	}
	flags := d.u8("connect flags")
	c.KeepAlive = d.u16("keep alive")
	if d.err != nil {
		return d.err
	}
	if flags&connReserved != 0 {
		return errorf(MalformedPacket, "CONNECT reserved flag is set [MQTT-3.1.2-3]")
	}
	c.CleanStart = flags&connCleanStart != 0
	c.WillFlag = flags&connWill != 0
	c.WillQoS = flags >> connWillQoSShift & 3
	c.WillRetain = flags&connWillRetain != 0
	c.PasswordFlag = flags&connPassword != 0
	c.UsernameFlag = flags&connUsername != 0
	if c.WillQoS == 3 {
		return errorf(MalformedPacket, "will QoS 3 is not allowed")
	}
	if !c.WillFlag && (c.WillQoS != 0 || c.WillRetain) {
		return errorf(MalformedPacket, "will QoS or will retain set without the will flag")
	}
	if level != V5 && c.PasswordFlag && !c.UsernameFlag {
		return errorf(ProtocolError, "password flag set without user name flag")
	}
	if level == V5 {
		d.props(&c.Properties, CONNECT)
	}
	c.ClientID = d.str("client identifier")
	if c.WillFlag {
		if level == V5 {
			d.props(&c.WillProperties, willKind)
		}
		topic := d.utf8("will topic")
		if d.err == nil && !validTopicNameBytes(topic) {
			return errorf(TopicNameInvalid, "will topic %q is not a valid topic name", topic)
		}
		c.WillTopic = string(topic)
		c.WillPayload = d.bin("will payload")
	}
	if c.UsernameFlag {
		c.Username = d.str("user name")
	}
	if c.PasswordFlag {
		c.Password = d.bin("password")
	}
	d.end(CONNECT)
	return d.result()
}

// Clone returns a deep copy of c whose slices alias no decode buffer.
func (c *Connect) Clone() *Connect {
	n := *c
	n.WillPayload = cloneBytes(c.WillPayload)
	n.Password = cloneBytes(c.Password)
	n.Properties = c.Properties.Clone()
	n.WillProperties = c.WillProperties.Clone()
	return &n
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

const (
	connackSessionPresent = 0x01
)

func (c *Connack) sizes(v Version) (n, pl int, err error) {
	n = 2
	if v == V5 {
		if pl, err = c.Properties.size(CONNACK); err != nil {
			return 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl
	}
	return n, pl, checkRemaining(CONNACK, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (c *Connack) EncodedLen(v Version) (int, error) {
	n, _, err := c.sizes(v)
	return totalLen(n), err
}

// AppendTo appends the CONNACK packet. For 3.1 / 3.1.1 the reason code is mapped with
// V3ConnackCode.
func (c *Connack) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := c.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, byte(CONNACK)<<4, n)
	var flags byte
	if c.SessionPresent {
		flags = connackSessionPresent
	}
	rc := c.ReasonCode
	if v != V5 {
		rc = V3ConnackCode(rc)
	}
	dst = append(dst, flags, byte(rc))
	if v == V5 {
		dst = c.Properties.appendTo(dst, pl)
	}
	return dst, nil
}

// DecodeInto decodes a CONNACK.
func (c *Connack) DecodeInto(first byte, body []byte, v Version) error {
	c.SessionPresent = false
	c.ReasonCode = 0
	c.Properties.Reset()
	if err := checkType(first, CONNACK); err != nil {
		return err
	}
	if err := checkFlags(first, 0, v); err != nil {
		return err
	}
	d := decoder{b: body}
	flags := d.u8("acknowledge flags")
	c.ReasonCode = ReasonCode(d.u8("reason code"))
	if d.err != nil {
		return d.err
	}
	if flags&^connackSessionPresent != 0 {
		return errorf(MalformedPacket, "CONNACK reserved flag bits 0x%02X are set [MQTT-3.2.2-1]", flags)
	}
	c.SessionPresent = flags&connackSessionPresent != 0
	if v == V5 {
		if !validReasons[CONNACK].has(c.ReasonCode) {
			return errorf(ProtocolError, "reason code 0x%02X is not valid in CONNACK", byte(c.ReasonCode))
		}
		d.props(&c.Properties, CONNACK)
	} else if c.ReasonCode > V3RefusedNotAuthorized {
		return errorf(MalformedPacket, "CONNACK return code %d is not defined: expected 0-5", c.ReasonCode)
	}
	if c.SessionPresent && c.ReasonCode != 0 {
		return errorf(ProtocolError, "CONNACK with return code 0x%02X has Session Present set [MQTT-3.2.2-6]", byte(c.ReasonCode))
	}
	d.end(CONNACK)
	return d.result()
}

func checkLens(ls ...int) error {
	for _, l := range ls {
		if l > MaxStringLen {
			return errorf(MalformedPacket, "a string or binary field is %d bytes long: the limit is %d", l, MaxStringLen)
		}
	}
	return nil
}

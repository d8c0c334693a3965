package packet

// Temporary bodies; replaced by the real codec.
var errNotImplemented = &Error{Code: ImplementationSpecificError, Msg: "not implemented"}

// AppendTo appends the encoded packet to dst.
func (p *Connect) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Connect) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Connect) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Connack) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Connack) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Connack) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Publish) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Publish) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Publish) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Ack) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Ack) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Ack) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Subscribe) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Subscribe) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Subscribe) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Suback) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Suback) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Suback) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Unsubscribe) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Unsubscribe) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Unsubscribe) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Unsuback) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Unsuback) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Unsuback) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Pingreq) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Pingreq) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Pingreq) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Pingresp) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Pingresp) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Pingresp) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Disconnect) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Disconnect) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Disconnect) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// AppendTo appends the encoded packet to dst.
func (p *Auth) AppendTo(dst []byte, v Version) ([]byte, error) { return dst, errNotImplemented }

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Auth) EncodedLen(v Version) (int, error) { return 0, errNotImplemented }

// DecodeInto decodes the packet from its first byte and body.
func (p *Auth) DecodeInto(first byte, body []byte, v Version) error { return errNotImplemented }

// Clone returns a deep copy of p whose slices do not alias any decode buffer.
func (p *Properties) Clone() Properties { return *p }

// Clone returns a deep copy of p whose slices do not alias any decode buffer.
func (p *Publish) Clone() *Publish { return p }

// Clone returns a deep copy of c whose slices do not alias any decode buffer.
func (c *Connect) Clone() *Connect { return c }

// ValidTopicName reports whether s is a valid topic name for PUBLISH: 1 to 65535 bytes of
// MQTT UTF-8 (no U+0000) without wildcards.
func ValidTopicName(s string) bool { return false }

// ValidTopicFilter reports whether s is a valid topic filter, including $share/ rules.
func ValidTopicFilter(s string) bool { return false }

// ValidUTF8String reports whether s is a valid MQTT UTF-8 string.
func ValidUTF8String(s string) bool { return false }

// ValidUTF8 reports whether b is a valid MQTT UTF-8 string.
func ValidUTF8(b []byte) bool { return false }

// ParseShared splits a shared subscription "$share/group/filter".
func ParseShared(filter string) (group, f string, ok bool) { return "", "", false }

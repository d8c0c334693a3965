package packet

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// decoder reads fields from a packet body. The first failure is kept in err and later
// reads return zero values, so callers check err once per stage.
type decoder struct {
	b   []byte
	err *Error
}

func (d *decoder) fail(code ReasonCode, format string, args ...any) {
	if d.err == nil {
		d.err = errorf(code, format, args...)
	}
	d.b = nil
}

func (d *decoder) short(what string) {
	d.fail(MalformedPacket, "packet too short: %s truncated", what)
}

func (d *decoder) u8(what string) byte {
	if len(d.b) < 1 {
		d.short(what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u16(what string) uint16 {
	if len(d.b) < 2 {
		d.short(what)
		return 0
	}
	v := uint16(d.b[0])<<8 | uint16(d.b[1])
	d.b = d.b[2:]
	return v
}

func (d *decoder) u32(what string) uint32 {
	if len(d.b) < 4 {
		d.short(what)
		return 0
	}
	v := uint32(d.b[0])<<24 | uint32(d.b[1])<<16 | uint32(d.b[2])<<8 | uint32(d.b[3])
	d.b = d.b[4:]
	return v
}

func (d *decoder) varint(what string) uint32 {
	if d.err != nil {
		return 0
	}
	v, n, err := DecodeVarInt(d.b)
	if err != nil {
		d.fail(MalformedPacket, "%s: %s", what, err.(*Error).Msg)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bin reads Binary Data (two-byte length prefix). Zero-length data is returned as nil.
func (d *decoder) bin(what string) []byte {
	n := int(d.u16(what))
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.short(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	if n == 0 {
		return nil
	}
	return v
}

// utf8 reads a UTF-8 Encoded String and checks it ([MQTT-1.5.4-1], [MQTT-1.5.4-2]).
func (d *decoder) utf8(what string) []byte {
	v := d.bin(what)
	if d.err == nil && !ValidUTF8(v) {
		d.fail(MalformedPacket, "%s is not valid UTF-8 or contains U+0000", what)
		return nil
	}
	return v
}

func (d *decoder) str(what string) string {
	return string(d.utf8(what))
}

func (d *decoder) end(t Type) {
	if d.err == nil && len(d.b) != 0 {
		d.fail(MalformedPacket, "%d unexpected bytes at the end of %s", len(d.b), t)
	}
}

func (d *decoder) result() error {
	if d.err != nil {
		return d.err
	}
	return nil
}

func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendBin(dst []byte, b []byte) []byte {
	dst = appendU16(dst, uint16(len(b)))
	return append(dst, b...)
}

func appendStr(dst []byte, s string) []byte {
	dst = appendU16(dst, uint16(len(s)))
	return append(dst, s...)
}

// header appends the fixed header.
func header(dst []byte, first byte, remaining int) []byte {
	dst = append(dst, first)
	return AppendVarInt(dst, uint32(remaining))
}

func checkRemaining(t Type, n int) error {
	if n > MaxRemainingLength {
		return errorf(PacketTooLarge, "%s of %d bytes exceeds the remaining length limit %d", t, n, MaxRemainingLength)
	}
	return nil
}

func totalLen(n int) int { return 1 + VarIntLen(uint32(n)) + n }

// checkFlags enforces the fixed header's reserved flag bits ([MQTT-2.1.3-1]). MQTT 3.1
// clients may also set DUP on PUBREL, SUBSCRIBE and UNSUBSCRIBE.
func checkFlags(first byte, want byte, v Version) error {
	f := first & 0x0F
	if f == want || (v == V31 && want == 2 && f == 0x0A) {
		return nil
	}
	return errorf(MalformedPacket, "%s has reserved flag bits 0x%X, must be 0x%X", Type(first>>4), f, want)
}

func checkType(first byte, t Type) error {
	if Type(first>>4) != t {
		return errorf(MalformedPacket, "packet type %s decoded as %s", Type(first>>4), t)
	}
	return nil
}

// ValidUTF8 reports whether b is a valid MQTT UTF-8 Encoded String body: well-formed
// UTF-8 (which excludes surrogates) without U+0000 ([MQTT-1.5.4-1], [MQTT-1.5.4-2]).
func ValidUTF8(b []byte) bool {
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if x&swarHi != 0 || swarHasZero(x) {
			break
		}
		b = b[8:]
	}
	for i, c := range b {
		if c == 0 {
			return false
		}
		if c >= utf8.RuneSelf {
			rest := b[i:]
			return utf8.Valid(rest) && bytes.IndexByte(rest, 0) < 0
		}
	}
	return true
}

// ValidUTF8String is ValidUTF8 for a string.
func ValidUTF8String(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			return false
		}
		if c >= utf8.RuneSelf {
			rest := s[i:]
			for j := 0; j < len(rest); j++ {
				if rest[j] == 0 {
					return false
				}
			}
			return utf8.ValidString(rest)
		}
	}
	return true
}

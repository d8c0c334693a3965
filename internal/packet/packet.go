// Package packet is an MQTT 3.1, 3.1.1 and 5.0 codec: every control packet, every MQTT 5
// property, strict validation as the specifications require, and an allocation-free path for
// PUBLISH in both directions.
//
// Decoding works on whole packets: read the fixed header, read the remaining length into a
// (reused) buffer, then Decode or DecodeInto. []byte fields of decoded packets, including
// those inside Properties, alias the body passed in and stay valid only until that buffer is
// reused; string fields are copies. Use Clone (or Properties.Clone) to keep a packet longer.
//
// Encoding is append-style: AppendTo(dst, version) appends the whole packet, fixed header
// included, and allocates nothing when dst has room. Properties are written for MQTT 5 only.
package packet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Type is an MQTT control packet type (the high nibble of the first byte).
type Type byte

// Control packet types.
const (
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
	AUTH        Type = 15
)

var typeNames = [16]string{"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
	"PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ",
	"PINGRESP", "DISCONNECT", "AUTH"}

// String returns the packet type's name in capitals, as the specification writes it.
func (t Type) String() string {
	if t < 16 {
		return typeNames[t]
	}
	return fmt.Sprintf("TYPE(%d)", byte(t))
}

// Version is the MQTT protocol level as it appears in CONNECT.
type Version byte

// Protocol levels.
const (
	V31  Version = 3 // MQTT 3.1, protocol name "MQIsdp"
	V311 Version = 4 // MQTT 3.1.1
	V5   Version = 5 // MQTT 5.0
)

// String returns "3.1", "3.1.1" or "5".
func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5"
	}
	return fmt.Sprintf("unknown(%d)", byte(v))
}

// Valid reports whether v is one of V31, V311, V5.
func (v Version) Valid() bool { return v == V31 || v == V311 || v == V5 }

// Limits from the specifications.
const (
	// MaxRemainingLength is the largest value a Variable Byte Integer can hold.
	MaxRemainingLength = 268435455
	// MaxVarInt is the same limit, named for property values such as Subscription Identifier.
	MaxVarInt = 268435455
	// MaxPacketSize is the largest possible packet: fixed header (5 bytes) plus the body.
	MaxPacketSize = 1 + 4 + MaxRemainingLength
	// MaxStringLen is the longest UTF-8 string or binary field (two-byte length prefix).
	MaxStringLen = 65535
)

// Error is a decode or encode failure with the MQTT 5 reason code a server or client would
// send for it (MalformedPacket, ProtocolError, PacketTooLarge, UnsupportedProtocolVersion,
// TopicNameInvalid, ...).
type Error struct {
	Code ReasonCode
	Msg  string
}

// Error returns the message prefixed with the reason code's name.
func (e *Error) Error() string {
	return e.Code.String() + ": " + e.Msg
}

// Is makes errors.Is(err, &Error{Code: c}) match any *Error with code c.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && (t.Msg == "" || t.Msg == e.Msg)
	}
	return false
}

func errorf(code ReasonCode, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the reason code carried by err if it is (or wraps) an *Error, else
// UnspecifiedError; for nil it returns Success.
func CodeOf(err error) ReasonCode {
	if err == nil {
		return Success
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return UnspecifiedError
}

// Packet is implemented by every control packet struct (*Connect, *Publish, *Ack, ...).
type Packet interface {
	// Type returns the control packet type.
	Type() Type
	// AppendTo appends the encoded packet, fixed header included, to dst.
	AppendTo(dst []byte, v Version) ([]byte, error)
	// EncodedLen returns the number of bytes AppendTo would append.
	EncodedLen(v Version) (int, error)
	// DecodeInto decodes a packet of this type from the first byte of the fixed header
	// and the body (the Remaining Length bytes), replacing the receiver's contents.
	DecodeInto(first byte, body []byte, v Version) error
}

// FixedHeader is the first part of every packet: type, the four flag bits and the
// Remaining Length.
type FixedHeader struct {
	Type      Type
	Flags     byte // low nibble of the first byte
	Remaining int  // Remaining Length: bytes after the fixed header
}

// First returns the first byte of the fixed header.
func (h FixedHeader) First() byte { return byte(h.Type)<<4 | h.Flags&0x0F }

// Size returns the fixed header's own length in bytes.
func (h FixedHeader) Size() int { return 1 + VarIntLen(uint32(h.Remaining)) }

// PacketSize returns the whole packet's length: fixed header plus Remaining Length.
func (h FixedHeader) PacketSize() int { return h.Size() + h.Remaining }

// ReadFixedHeader reads the first byte and the Remaining Length from r. It checks the
// Remaining Length encoding but not the type and flags (Decode does that).
func ReadFixedHeader(r io.ByteReader) (FixedHeader, error) {
	b, err := r.ReadByte()
	if err != nil {
		return FixedHeader{}, err
	}
	n, err := ReadVarInt(r)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return FixedHeader{}, err
	}
	return FixedHeader{Type: Type(b >> 4), Flags: b & 0x0F, Remaining: int(n)}, nil
}

// ReadVarInt reads one Variable Byte Integer from r. A value longer than four bytes or not
// in its shortest form is a MalformedPacket error ([MQTT-1.5.5-1]).
func ReadVarInt(r io.ByteReader) (uint32, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		v |= uint32(b&0x7F) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, errorf(MalformedPacket, "variable byte integer not in its shortest form")
			}
			return v, nil
		}
	}
	return 0, errorf(MalformedPacket, "variable byte integer longer than 4 bytes")
}

// DecodeVarInt decodes one Variable Byte Integer from the start of b, returning the value
// and the number of bytes used. Truncated, over-long or non-minimal encodings are
// MalformedPacket errors.
func DecodeVarInt(b []byte) (value uint32, n int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, errorf(MalformedPacket, "variable byte integer truncated")
		}
		c := b[i]
		value |= uint32(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, errorf(MalformedPacket, "variable byte integer not in its shortest form")
			}
			return value, i + 1, nil
		}
	}
	return 0, 0, errorf(MalformedPacket, "variable byte integer longer than 4 bytes")
}

// AppendVarInt appends v as a Variable Byte Integer in its shortest form. v must not exceed
// MaxVarInt; larger values are truncated to their low 28 bits.
func AppendVarInt(dst []byte, v uint32) []byte {
	v &= MaxVarInt
	for {
		b := byte(v & 0x7F)
		v >>= 7
		if v == 0 {
			return append(dst, b)
		}
		dst = append(dst, b|0x80)
	}
}

// VarIntLen returns the encoded length of v as a Variable Byte Integer (1 to 4).
func VarIntLen(v uint32) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<21:
		return 3
	}
	return 4
}

// New returns an empty packet struct for type t, or nil for reserved types.
func New(t Type) Packet {
	switch t {
	case CONNECT:
		return &Connect{}
	case CONNACK:
		return &Connack{}
	case PUBLISH:
		return &Publish{}
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		return &Ack{PacketType: t}
	case SUBSCRIBE:
		return &Subscribe{}
	case SUBACK:
		return &Suback{}
	case UNSUBSCRIBE:
		return &Unsubscribe{}
	case UNSUBACK:
		return &Unsuback{}
	case PINGREQ:
		return &Pingreq{}
	case PINGRESP:
		return &Pingresp{}
	case DISCONNECT:
		return &Disconnect{}
	case AUTH:
		return &Auth{}
	}
	return nil
}

// Decode decodes one packet from the first byte of its fixed header and its body (exactly
// Remaining Length bytes). v is the protocol version negotiated on the connection; a
// CONNECT packet carries its own version and ignores v. []byte fields of the result alias
// body.
func Decode(first byte, body []byte, v Version) (Packet, error) {
	p := New(Type(first >> 4))
	if p == nil {
		return nil, errorf(MalformedPacket, "reserved packet type 0")
	}
	if err := p.DecodeInto(first, body, v); err != nil {
		return nil, err
	}
	return p, nil
}

// ReadRaw reads one whole packet from r: the fixed header, then the body into buf (grown
// when too small). A packet longer than maxSize bytes in total (0 means no limit) is refused
// with a PacketTooLarge error before its body is read. The returned body aliases the
// returned buffer, which the caller passes back in for the next packet.
func ReadRaw(r *bufio.Reader, maxSize uint32, buf []byte) (h FixedHeader, body, newBuf []byte, err error) {
	h, err = ReadFixedHeader(r)
	if err != nil {
		return h, nil, buf, err
	}
	if maxSize > 0 && uint64(h.PacketSize()) > uint64(maxSize) {
		return h, nil, buf, errorf(PacketTooLarge, "packet of %d bytes exceeds the maximum packet size %d", h.PacketSize(), maxSize)
	}
	if cap(buf) < h.Remaining {
		buf = make([]byte, h.Remaining)
	}
	body = buf[:h.Remaining]
	if _, err = io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, buf, err
	}
	return h, body, buf, nil
}

// ReadPacket reads and decodes one packet from r (see ReadRaw for maxSize and buf). The
// packet's []byte fields alias the returned buffer.
func ReadPacket(r *bufio.Reader, v Version, maxSize uint32, buf []byte) (Packet, []byte, error) {
	h, body, buf, err := ReadRaw(r, maxSize, buf)
	if err != nil {
		return nil, buf, err
	}
	p, err := Decode(h.First(), body, v)
	return p, buf, err
}

// Append appends the encoding of p to dst (see Packet.AppendTo).
func Append(dst []byte, p Packet, v Version) ([]byte, error) {
	return p.AppendTo(dst, v)
}

// EncodedLen returns the encoded size of p in bytes, fixed header included, so a sender can
// compare it with the peer's Maximum Packet Size.
func EncodedLen(p Packet, v Version) (int, error) {
	return p.EncodedLen(v)
}

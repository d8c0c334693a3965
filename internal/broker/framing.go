package broker

import (
	"bufio"
	"io"
	"strconv"

	"github.com/mqttx/mqttx/internal/packet"
)

// checkFirst checks the type and flags of a packet a client sent
// [MQTT-2.2.2-1] [MQTT-2.2.2-2] [MQTT-3.3.1-2] [MQTT-3.3.1-4]; it returns 0
// when they are acceptable.
func checkFirst(b byte, v packet.Version) packet.ReasonCode {
	t, flags := packet.Type(b>>4), b&0x0F
	switch t {
	case packet.PUBLISH:
		qos := flags >> 1 & 3
		if qos == 3 || (qos == 0 && flags&0x08 != 0) {
			return packet.MalformedPacket
		}
		return 0
	case packet.PUBREL, packet.SUBSCRIBE, packet.UNSUBSCRIBE:
		if flags != 0x02 {
			return packet.MalformedPacket
		}
		return 0
	case packet.CONNECT, packet.PUBACK, packet.PUBREC, packet.PUBCOMP, packet.PINGREQ, packet.DISCONNECT:
		if flags != 0 {
			return packet.MalformedPacket
		}
		return 0
	case packet.AUTH:
		if v != packet.V5 || flags != 0 {
			return packet.MalformedPacket
		}
		return 0
	case packet.CONNACK, packet.SUBACK, packet.UNSUBACK, packet.PINGRESP:
		return packet.ProtocolError // server to client only
	}
	return packet.MalformedPacket // reserved type 0
}

// bodyStep is how much a packet body larger than the reader's buffer grows
// at a time: memory follows the bytes that actually arrived, not the
// remaining length a client declared.
const bodyStep = 64 << 10

// readPacket reads one packet like packet.ReadRaw, but a body larger than
// buf and bodyStep is read in growing steps, so a client declaring a huge
// remaining length and sending little costs little memory.
func readPacket(r *bufio.Reader, maxSize uint32, buf []byte) (h packet.FixedHeader, body, newBuf []byte, err error) {
	return readPacketFunc(r, maxSize, buf, nil)
}

// readPacketFunc is readPacket with check, when not nil, called with the
// header before the body is read; an error from it ends the read.
func readPacketFunc(r *bufio.Reader, maxSize uint32, buf []byte, check func(packet.FixedHeader) error) (h packet.FixedHeader, body, newBuf []byte, err error) {
	h, err = packet.ReadFixedHeader(r)
	if err != nil {
		return h, nil, buf, err
	}
	if maxSize > 0 && uint64(h.PacketSize()) > uint64(maxSize) {
		return h, nil, buf, &packet.Error{Code: packet.PacketTooLarge, Msg: "packet of " + strconv.Itoa(h.PacketSize()) + " bytes exceeds the maximum packet size " + strconv.FormatUint(uint64(maxSize), 10)}
	}
	if check != nil {
		if err := check(h); err != nil {
			return h, nil, buf, err
		}
	}
	n := h.Remaining
	if cap(buf) >= n || n <= bodyStep {
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		body = buf[:n]
		if _, err = io.ReadFull(r, body); err != nil {
			return h, nil, buf, unexpected(err)
		}
		return h, body, buf, nil
	}
	// Grow by doubling from bodyStep: at most twice what arrived is held.
	body = make([]byte, 0, bodyStep)
	for len(body) < n {
		if len(body) == cap(body) {
			nb := make([]byte, len(body), min(2*cap(body), n))
			copy(nb, body)
			body = nb
		}
		m, err := io.ReadFull(r, body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil {
			return h, nil, buf, unexpected(err)
		}
	}
	// A body this large is not kept for the next packet.
	return h, body, buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

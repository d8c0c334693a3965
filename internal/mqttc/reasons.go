package mqttc

import (
	"fmt"
	"strings"

	"github.com/mqttx/mqttx/internal/packet"
)

// ReasonText is the MQTT 5 specification's name for a reason code, lowercase, from the
// codec's one table.
func ReasonText(code byte) string {
	return strings.ToLower(packet.ReasonCode(code).String())
}

// ReturnCodeText is the MQTT 3.1/3.1.1 name for a CONNACK return code, lowercase and
// without the "connection refused, " that every refusal starts with.
func ReturnCodeText(code byte) string {
	return strings.TrimPrefix(strings.ToLower(packet.V3ConnackText(packet.ReasonCode(code))), "connection refused, ")
}

// DisconnectError is passed to Options.OnConnectionLost when an MQTT 5 broker ends the
// connection with a DISCONNECT packet.
type DisconnectError struct {
	Code   byte   // the DISCONNECT reason code
	Reason string // the broker's reason string, or the code's name
}

func (e *DisconnectError) Error() string {
	return fmt.Sprintf("disconnected by broker: %s (0x%02x)", e.Reason, e.Code)
}

package mqttc

import (
	"errors"
	"fmt"

	"github.com/mqttx/mqttx/internal/packet"
)

// TooLargeError says a PUBLISH would exceed MQTT's packet size limit or the broker's
// Maximum Packet Size, so it was not sent. Commands treat it as bad input (exit 2).
type TooLargeError struct {
	Topic  string
	Size   int  // the PUBLISH packet's size in bytes, or the payload's when Limit is the protocol's
	Limit  int  // the largest size allowed
	Broker bool // Limit is the broker's Maximum Packet Size (MQTT 5 CONNACK)
}

func (e *TooLargeError) Error() string {
	if e.Broker {
		return fmt.Sprintf("message to %s too large: a packet of %d bytes exceeds the broker's maximum packet size of %d bytes; send a smaller payload", e.Topic, e.Size, e.Limit)
	}
	return fmt.Sprintf("message to %s too large: %d bytes exceeds MQTT's limit of %d bytes per packet; send a smaller payload", e.Topic, e.Size, e.Limit)
}

// PublishSize returns the size in bytes of m as a PUBLISH packet of version v, fixed
// header and properties included, computed by the codec. A message too large for any
// MQTT packet returns a *TooLargeError.
func PublishSize(v Version, m Message) (int, error) {
	p := packet.Publish{Topic: []byte(m.Topic), Payload: m.Payload, QoS: m.QoS, Retain: m.Retain}
	if m.QoS > 0 {
		p.PacketID = 1
	}
	if q := m.Properties; q != nil && v == V5 {
		pp := &p.Properties
		if q.PayloadFormat != nil {
			pp.SetPayloadFormat(*q.PayloadFormat)
		}
		if q.MessageExpiry != nil {
			pp.SetMessageExpiry(*q.MessageExpiry)
		}
		if q.TopicAlias != nil {
			pp.SetTopicAlias(*q.TopicAlias)
		}
		if q.ResponseTopic != "" {
			pp.SetResponseTopic([]byte(q.ResponseTopic))
		}
		if q.CorrelationData != nil {
			pp.SetCorrelationData(q.CorrelationData)
		}
		if q.ContentType != "" {
			pp.SetContentType([]byte(q.ContentType))
		}
		for _, u := range q.UserProperties {
			pp.User = append(pp.User, packet.UserProperty{Key: []byte(u.Key), Value: []byte(u.Value)})
		}
	}
	n, err := p.EncodedLen(v)
	var pe *packet.Error
	if err != nil && errors.As(err, &pe) && pe.Code == packet.PacketTooLarge {
		return 0, &TooLargeError{Topic: m.Topic, Size: len(m.Payload), Limit: packet.MaxRemainingLength}
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// checkSize refuses m before it is sent when it is larger than MQTT allows or, when
// brokerMax is not zero, than the broker's Maximum Packet Size.
func checkSize(v Version, m Message, brokerMax uint32) error {
	n, err := PublishSize(v, m)
	if err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			return err
		}
		return nil // other codec objections are the library's and the broker's to report
	}
	if brokerMax > 0 && n > int(brokerMax) {
		return &TooLargeError{Topic: m.Topic, Size: n, Limit: int(brokerMax), Broker: true}
	}
	return nil
}

package packet

// Typed setters: each stores the value and marks the property present.

// SetPayloadFormat sets the Payload Format Indicator property.
func (p *Properties) SetPayloadFormat(v byte) {
	p.PayloadFormat = v
	p.mask |= 1 << PropPayloadFormatIndicator
}

// SetMessageExpiry sets the Message Expiry Interval property.
func (p *Properties) SetMessageExpiry(v uint32) {
	p.MessageExpiry = v
	p.mask |= 1 << PropMessageExpiryInterval
}

// SetContentType sets the Content Type property.
func (p *Properties) SetContentType(v []byte) { p.ContentType = v; p.mask |= 1 << PropContentType }

// SetResponseTopic sets the Response Topic property.
func (p *Properties) SetResponseTopic(v []byte) {
	p.ResponseTopic = v
	p.mask |= 1 << PropResponseTopic
}

// SetCorrelationData sets the Correlation Data property.
func (p *Properties) SetCorrelationData(v []byte) {
	p.CorrelationData = v
	p.mask |= 1 << PropCorrelationData
}

// SetSessionExpiry sets the Session Expiry Interval property.
func (p *Properties) SetSessionExpiry(v uint32) {
	p.SessionExpiry = v
	p.mask |= 1 << PropSessionExpiryInterval
}

// SetAssignedClientID sets the Assigned Client Identifier property.
func (p *Properties) SetAssignedClientID(v []byte) {
	p.AssignedClientID = v
	p.mask |= 1 << PropAssignedClientIdentifier
}

// SetServerKeepAlive sets the Server Keep Alive property.
func (p *Properties) SetServerKeepAlive(v uint16) {
	p.ServerKeepAlive = v
	p.mask |= 1 << PropServerKeepAlive
}

// SetAuthMethod sets the Authentication Method property.
func (p *Properties) SetAuthMethod(v []byte) {
	p.AuthMethod = v
	p.mask |= 1 << PropAuthenticationMethod
}

// SetAuthData sets the Authentication Data property.
func (p *Properties) SetAuthData(v []byte) { p.AuthData = v; p.mask |= 1 << PropAuthenticationData }

// SetRequestProblemInfo sets the Request Problem Information property.
func (p *Properties) SetRequestProblemInfo(v byte) {
	p.RequestProblemInfo = v
	p.mask |= 1 << PropRequestProblemInformation
}

// SetWillDelay sets the Will Delay Interval property.
func (p *Properties) SetWillDelay(v uint32) { p.WillDelay = v; p.mask |= 1 << PropWillDelayInterval }

// SetRequestResponseInfo sets the Request Response Information property.
func (p *Properties) SetRequestResponseInfo(v byte) {
	p.RequestResponseInfo = v
	p.mask |= 1 << PropRequestResponseInformation
}

// SetResponseInfo sets the Response Information property.
func (p *Properties) SetResponseInfo(v []byte) {
	p.ResponseInfo = v
	p.mask |= 1 << PropResponseInformation
}

// SetServerReference sets the Server Reference property.
func (p *Properties) SetServerReference(v []byte) {
	p.ServerReference = v
	p.mask |= 1 << PropServerReference
}

// SetReasonString sets the Reason String property.
func (p *Properties) SetReasonString(v []byte) { p.ReasonString = v; p.mask |= 1 << PropReasonString }

// SetReceiveMaximum sets the Receive Maximum property.
func (p *Properties) SetReceiveMaximum(v uint16) {
	p.ReceiveMaximum = v
	p.mask |= 1 << PropReceiveMaximum
}

// SetTopicAliasMaximum sets the Topic Alias Maximum property.
func (p *Properties) SetTopicAliasMaximum(v uint16) {
	p.TopicAliasMaximum = v
	p.mask |= 1 << PropTopicAliasMaximum
}

// SetTopicAlias sets the Topic Alias property.
func (p *Properties) SetTopicAlias(v uint16) { p.TopicAlias = v; p.mask |= 1 << PropTopicAlias }

// SetMaximumQoS sets the Maximum QoS property.
func (p *Properties) SetMaximumQoS(v byte) { p.MaximumQoS = v; p.mask |= 1 << PropMaximumQoS }

// SetRetainAvailable sets the Retain Available property.
func (p *Properties) SetRetainAvailable(v byte) {
	p.RetainAvailable = v
	p.mask |= 1 << PropRetainAvailable
}

// SetMaximumPacketSize sets the Maximum Packet Size property.
func (p *Properties) SetMaximumPacketSize(v uint32) {
	p.MaximumPacketSize = v
	p.mask |= 1 << PropMaximumPacketSize
}

// SetWildcardSubAvailable sets the Wildcard Subscription Available property.
func (p *Properties) SetWildcardSubAvailable(v byte) {
	p.WildcardSubAvailable = v
	p.mask |= 1 << PropWildcardSubscriptionAvailable
}

// SetSubIDAvailable sets the Subscription Identifier Available property.
func (p *Properties) SetSubIDAvailable(v byte) {
	p.SubIDAvailable = v
	p.mask |= 1 << PropSubscriptionIdentifierAvailable
}

// SetSharedSubAvailable sets the Shared Subscription Available property.
func (p *Properties) SetSharedSubAvailable(v byte) {
	p.SharedSubAvailable = v
	p.mask |= 1 << PropSharedSubscriptionAvailable
}

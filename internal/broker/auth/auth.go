// Package auth decides who may connect to the broker and what each client may
// publish, subscribe to and receive. serve builds a Policy from the files people
// already have: mosquitto's password file (or mqttx's YAML users file) and
// mosquitto's acl_file; the engine only sees the Authorizer interface.
package auth

// Login is what a client presents in CONNECT.
type Login struct {
	ClientID    string
	Username    string
	HasUsername bool
	Password    []byte
	HasPassword bool
	// CertCN is the common name of the client certificate the TLS handshake
	// verified; "" without one.
	CertCN string
}

// Authorizer makes every access decision of the broker engine. Authenticate may
// be slow (it hashes passwords): the engine calls it off its connection loop
// with bounded concurrency. The May* methods are called on the message paths
// and must be cheap. username is "" for a client that connected anonymously.
type Authorizer interface {
	// Authenticate reports whether the client may connect. It may set
	// l.Username and l.HasUsername to the identity the client is known by
	// from then on (its certificate's CN, say): sessions and ACL use it.
	Authenticate(l *Login) bool
	// MayPublish reports whether the client may publish to topic (and set a will on it).
	MayPublish(clientID, username, topic string) bool
	// MaySubscribe reports whether the client may subscribe to filter: whether
	// the filter can match any topic it may read.
	MaySubscribe(clientID, username, filter string) bool
	// MayRead reports whether a message on topic may be delivered to the client.
	MayRead(clientID, username, topic string) bool
}

// Policy is the Authorizer of serve: an optional users file, whether clients
// without a username are admitted beside it, and an optional ACL.
type Policy struct {
	// Users, when not nil, is the password file: a client that gives a
	// username must give its password.
	Users *Users
	// AllowAnonymous admits clients without a username when Users is set;
	// without Users everyone is admitted.
	AllowAnonymous bool
	// ACL, when not nil, decides what each client may publish and read;
	// nil allows everything.
	ACL *ACL
	// CertCNAsUsername admits a client that presented a verified
	// certificate as the user named by its CN, whatever username and
	// password CONNECT holds (mosquitto's use_identity_as_username).
	CertCNAsUsername bool
}

// Authenticate implements Authorizer. As in mosquitto, a client that gives a
// username is checked against the users file even when anonymous access is
// allowed.
func (p *Policy) Authenticate(l *Login) bool {
	if p.CertCNAsUsername && l.CertCN != "" {
		l.Username, l.HasUsername = l.CertCN, true
		return true
	}
	if p.Users == nil {
		return true
	}
	if !l.HasUsername {
		return p.AllowAnonymous
	}
	return p.Users.Check(l.Username, l.Password, l.HasPassword)
}

// HashesPasswords reports whether Authenticate may check a password, which
// takes long on purpose: the engine then authenticates off its connection loop.
func (p *Policy) HashesPasswords() bool { return p.Users != nil }

// MayPublish implements Authorizer.
func (p *Policy) MayPublish(clientID, username, topic string) bool {
	return p.ACL == nil || p.ACL.Allowed(clientID, username, topic, Write)
}

// MaySubscribe implements Authorizer.
func (p *Policy) MaySubscribe(clientID, username, filter string) bool {
	return p.ACL == nil || p.ACL.MaySubscribe(clientID, username, filter)
}

// MayRead implements Authorizer.
func (p *Policy) MayRead(clientID, username, topic string) bool {
	return p.ACL == nil || p.ACL.Allowed(clientID, username, topic, Read)
}

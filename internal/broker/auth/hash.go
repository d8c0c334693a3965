package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Hash kinds of a password file.
const (
	kindPBKDF2 = "sha512-pbkdf2" // mosquitto 2.0: $7$iterations$salt$hash
	kindSHA512 = "sha512"        // mosquitto 1.x: $6$salt$hash
	kindBcrypt = "bcrypt"        // $2a$, $2b$, $2y$ (htpasswd -B, mosquitto-go-auth)
)

// PBKDF2Iterations is what `serve passwd` writes, as mosquitto_passwd does:
// mosquitto reads the count from each line, so both brokers accept the file.
const PBKDF2Iterations = 101

const (
	saltLen   = 12 // bytes, as mosquitto_passwd
	pbkdf2Len = 64 // SHA-512 output
)

// hash is one parsed password hash.
type hash struct {
	kind   string
	iter   int    // pbkdf2
	salt   []byte // pbkdf2, sha512
	sum    []byte // pbkdf2, sha512
	bcrypt []byte // the whole bcrypt hash
	cost   int    // bcrypt
}

// errNotHash explains what a password file line must hold.
var errNotHash = errors.New("not a password hash ($7$, $6$ or bcrypt $2a$/$2b$/$2y$)")

// parseHash reads a hash as mosquitto_passwd or htpasswd -B write it.
func parseHash(s string) (*hash, error) {
	switch {
	case strings.HasPrefix(s, "$7$"):
		f := strings.Split(s[3:], "$")
		if len(f) != 3 {
			return nil, errors.New("$7$ hash: want $7$iterations$salt$hash")
		}
		iter, err := strconv.Atoi(f[0])
		if err != nil || iter < 1 || iter > 100_000_000 {
			return nil, errors.New("$7$ hash: bad iteration count " + strconv.Quote(f[0]))
		}
		salt, err1 := decodeB64(f[1])
		sum, err2 := decodeB64(f[2])
		if err1 != nil || err2 != nil || len(salt) == 0 || len(sum) < 16 || len(sum) > pbkdf2Len {
			return nil, errors.New("$7$ hash: salt or hash is not base64 (or the hash is shorter than 16 bytes)")
		}
		return &hash{kind: kindPBKDF2, iter: iter, salt: salt, sum: sum}, nil
	case strings.HasPrefix(s, "$6$"):
		f := strings.Split(s[3:], "$")
		if len(f) != 2 {
			return nil, errors.New("$6$ hash: want $6$salt$hash")
		}
		salt, err1 := decodeB64(f[0])
		sum, err2 := decodeB64(f[1])
		if err1 != nil || err2 != nil || len(salt) == 0 || len(sum) != sha512.Size {
			return nil, errors.New("$6$ hash: salt or hash is not base64")
		}
		return &hash{kind: kindSHA512, salt: salt, sum: sum}, nil
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return nil, errors.New("bcrypt hash: " + err.Error())
		}
		return &hash{kind: kindBcrypt, bcrypt: []byte(s), cost: cost}, nil
	}
	return nil, errNotHash
}

func decodeB64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// verify reports whether pw matches, comparing in constant time.
func (h *hash) verify(pw []byte) bool {
	switch h.kind {
	case kindPBKDF2:
		k, err := pbkdf2.Key(sha512.New, string(pw), h.salt, h.iter, len(h.sum))
		return err == nil && subtle.ConstantTimeCompare(k, h.sum) == 1
	case kindSHA512:
		d := sha512.New()
		d.Write(pw)
		d.Write(h.salt)
		return subtle.ConstantTimeCompare(d.Sum(nil), h.sum) == 1
	case kindBcrypt:
		return bcrypt.CompareHashAndPassword(h.bcrypt, pw) == nil
	}
	return false
}

// params names the kind and cost of h: hashes with equal params take the same time to check.
func (h *hash) params() string {
	switch h.kind {
	case kindPBKDF2:
		return h.kind + "/" + strconv.Itoa(h.iter) + "/" + strconv.Itoa(len(h.sum))
	case kindBcrypt:
		return h.kind + "/" + strconv.Itoa(h.cost)
	}
	return h.kind
}

// dummy returns a hash of a random password with h's kind and cost, to compare
// against when a username is unknown.
func (h *hash) dummy() *hash {
	pw := make([]byte, 16)
	rand.Read(pw)
	switch h.kind {
	case kindBcrypt:
		b, err := bcrypt.GenerateFromPassword(pw, h.cost)
		if err != nil {
			return h
		}
		return &hash{kind: kindBcrypt, bcrypt: b, cost: h.cost}
	case kindPBKDF2:
		d := *h
		d.salt = make([]byte, len(h.salt))
		rand.Read(d.salt)
		d.sum = make([]byte, len(h.sum))
		rand.Read(d.sum)
		return &d
	}
	d := *h
	d.sum = make([]byte, len(h.sum))
	rand.Read(d.sum)
	return &d
}

// HashPassword returns a mosquitto 2.0 password hash of pw:
// $7$101$salt$hash, PBKDF2-SHA512, as mosquitto_passwd writes it.
func HashPassword(pw []byte) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	k, err := pbkdf2.Key(sha512.New, string(pw), salt, PBKDF2Iterations, pbkdf2Len)
	if err != nil {
		return "", err
	}
	return "$7$" + strconv.Itoa(PBKDF2Iterations) + "$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(k), nil
}

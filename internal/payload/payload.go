// Package payload owns the encodings of MQTT payloads: how pub turns what the user typed
// into the bytes it sends (--format), how sub shows the bytes it received, how the
// output package writes a payload as text or JSON, and random payloads of a given size.
package payload

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Format is a payload encoding named by --format.
type Format string

// Formats. Text is the payload's own bytes.
const (
	Text    Format = "text"
	Base64  Format = "base64"
	Hex     Format = "hex"
	JSON    Format = "json"
	CBOR    Format = "cbor"
	MsgPack Format = "msgpack"
)

// Formats lists the values --format accepts, for help and errors.
const Formats = "text, base64, hex, json, cbor or msgpack"

// ParseFormat parses a --format value; "" is Text. "binary" and "utf8" are MQTTX's
// names for Text.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", "binary", "utf8", "plaintext":
		return Text, nil
	case Text, Base64, Hex, JSON, CBOR, MsgPack:
		return f, nil
	}
	return "", fmt.Errorf("invalid --format %q: must be %s", s, Formats)
}

// Pack turns input in format f into the bytes to publish: base64 and hex are decoded,
// json is validated and sent as typed, cbor and msgpack are JSON input converted to
// CBOR or MessagePack. Text is returned as it is.
func Pack(f Format, in []byte) ([]byte, error) {
	switch f {
	case Text, "":
		return in, nil
	case Base64:
		s := string(bytes.TrimSpace(in))
		out, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if out, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
				return out, nil
			}
			if out, err2 := base64.URLEncoding.DecodeString(s); err2 == nil {
				return out, nil
			}
			return nil, fmt.Errorf("message is not base64: %v", err)
		}
		return out, nil
	case Hex:
		s := strings.Join(strings.Fields(string(in)), "")
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		out, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("message is not hex: %v", err)
		}
		return out, nil
	case JSON:
		if !json.Valid(in) {
			return nil, fmt.Errorf("message is not JSON: %v", jsonError(in))
		}
		return in, nil
	case CBOR, MsgPack:
		v, err := decodeJSON(in)
		if err != nil {
			return nil, fmt.Errorf("message is not JSON (--format %s converts JSON): %v", f, err)
		}
		if f == CBOR {
			return cbor.Marshal(v)
		}
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		enc.UseCompactFloats(true)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// Show turns received bytes into text for display in format f: base64 and hex encode
// them, json indents valid JSON, cbor and msgpack decode to JSON. A payload that is not
// in the format returns an error; callers show the payload unchanged and say so.
func Show(f Format, b []byte) ([]byte, error) {
	switch f {
	case Text, "":
		return b, nil
	case Base64:
		return []byte(base64.StdEncoding.EncodeToString(b)), nil
	case Hex:
		return []byte(hex.EncodeToString(b)), nil
	case JSON:
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return nil, fmt.Errorf("payload is not JSON: %v", err)
		}
		return out.Bytes(), nil
	case CBOR, MsgPack:
		var v any
		var err error
		if f == CBOR {
			err = cbor.Unmarshal(b, &v)
		} else {
			err = msgpack.Unmarshal(b, &v)
		}
		if err != nil {
			return nil, fmt.Errorf("payload is not %s: %v", f, err)
		}
		out, err := marshalJSON(jsonable(v))
		if err != nil {
			return nil, fmt.Errorf("payload %s has no JSON form: %v", f, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

// Encoding says how a payload is written in text or JSON output.
type Encoding string

// Encodings of payloads in output.
const (
	UTF8     Encoding = "utf8"
	Base64ed Encoding = "base64"
)

// String returns b as a string and UTF8 when it is valid UTF-8, else its base64 form
// and Base64ed: the rule of JSON output's payload and payload_encoding.
func String(b []byte) (string, Encoding) {
	if utf8.Valid(b) {
		return string(b), UTF8
	}
	return base64.StdEncoding.EncodeToString(b), Base64ed
}

// decodeJSON decodes one JSON value, keeping numbers exact where they are integers.
func decodeJSON(in []byte) (any, error) {
	var probe any
	if err := json.Unmarshal(in, &probe); err != nil {
		// Also catches numbers out of float64's range (1e700), which UseNumber lets by.
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return fromNumbers(v), nil
}

// fromNumbers turns json.Number into int64, uint64 or float64, so CBOR and MessagePack
// get integers where the JSON had them.
func fromNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		var u uint64
		if _, err := fmt.Sscan(x.String(), &u); err == nil && !strings.ContainsAny(x.String(), ".eE-") {
			return u
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromNumbers(x[k])
		}
	}
	return v
}

// jsonable converts decoded CBOR/MessagePack values to ones encoding/json can write:
// maps with non-string keys get their keys printed, byte strings become base64 strings.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
		return x
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	}
	return v
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// jsonError returns why in is not JSON, with the byte offset.
func jsonError(in []byte) error {
	var v any
	err := json.Unmarshal(in, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v at byte %d", se, se.Offset)
	}
	if err == nil {
		return errors.New("invalid JSON")
	}
	return err
}

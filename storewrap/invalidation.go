package storewrap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Kind names what a committed change touched, and so which cached reads it
// makes stale.
type Kind uint8

// The kinds of [Invalidation]. Each one's comment lists the cached reads it
// drops.
const (
	// KindAll drops every cached read.
	KindAll Kind = iota + 1
	// KindProvider is a change to one chat provider. It drops the enabled
	// providers, every model config (a deleted provider deletes its
	// configs) and the default model config.
	KindProvider
	// KindModelConfig is a change to one model config. It drops that config
	// and the default model config.
	KindModelConfig
	// KindModelConfigs is a change to model configs that cannot be named by
	// one id, such as moving the default from one config to another. It
	// drops every model config and the default model config.
	KindModelConfigs
	// KindUserPrompt is a change to one user's custom prompt. It drops that
	// user's prompt.
	KindUserPrompt
)

var kindNames = [...]string{
	KindAll:          "all",
	KindProvider:     "provider",
	KindModelConfig:  "model_config",
	KindModelConfigs: "model_configs",
	KindUserPrompt:   "user_prompt",
}

// String returns the name of k used in notification payloads.
func (k Kind) String() string {
	if k == 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
	return kindNames[k]
}

// hasID reports whether an invalidation of kind k names a row.
func (k Kind) hasID() bool {
	return k == KindProvider || k == KindModelConfig || k == KindUserPrompt
}

// Invalidation describes one committed change: its kind and, for the kinds
// that name a row, the row's id (the user id for [KindUserPrompt]).
type Invalidation struct {
	Kind Kind
	ID   uuid.UUID
}

// payloadVersion prefixes every payload. A replica rejects a payload of
// another version rather than guess at its meaning.
const payloadVersion = "v1"

// maxPayloadLen is the longest payload [Invalidation.Payload] produces:
// the version, the longest kind name and a 36-character id with two
// separators. PostgreSQL rejects payloads of 8000 bytes or more.
const maxPayloadLen = len(payloadVersion) + len(":model_configs") + 1 + 36

// Sentinel errors returned by [ParsePayload], wrapped with the details.
var (
	ErrUnknownPayloadVersion = errors.New("storewrap: unknown notification payload version")
	ErrInvalidPayload        = errors.New("storewrap: invalid notification payload")
)

// Payload encodes inv for pg_notify, for example
// "v1:model_config:0b5f5c1e-7f0e-4c79-9c6b-9d8d4c6b8c11" or "v1:all". An
// invalidation whose kind is unknown, or whose id is missing where the kind
// needs one, is encoded as "v1:all", which drops everything: a change that
// cannot be described compactly is never lost.
func (inv Invalidation) Payload() string {
	switch {
	case inv.Kind == KindAll || int(inv.Kind) >= len(kindNames) || inv.Kind == 0:
		return payloadVersion + ":all"
	case inv.Kind.hasID() && inv.ID == uuid.Nil:
		return payloadVersion + ":all"
	case inv.Kind.hasID():
		return payloadVersion + ":" + inv.Kind.String() + ":" + inv.ID.String()
	default:
		return payloadVersion + ":" + inv.Kind.String()
	}
}

// ParsePayload decodes a payload made by [Invalidation.Payload]. It is
// strict: the version must be v1, the kind known, and the id present in
// canonical lower-case form exactly when the kind names a row. A payload of
// another version returns an error wrapping [ErrUnknownPayloadVersion];
// anything else malformed wraps [ErrInvalidPayload]. Errors do not quote
// the payload, because a payload sent by hand could hold user data.
func ParsePayload(payload string) (Invalidation, error) {
	if len(payload) > maxPayloadLen {
		return Invalidation{}, fmt.Errorf("%w: %d bytes, longer than the %d of any valid payload",
			ErrInvalidPayload, len(payload), maxPayloadLen)
	}
	version, rest, found := strings.Cut(payload, ":")
	if version != payloadVersion {
		if !found {
			return Invalidation{}, fmt.Errorf("%w: no version prefix", ErrInvalidPayload)
		}
		return Invalidation{}, fmt.Errorf("%w: want %s", ErrUnknownPayloadVersion, payloadVersion)
	}
	if !found {
		return Invalidation{}, fmt.Errorf("%w: no kind after the version", ErrInvalidPayload)
	}
	name, id, hasID := strings.Cut(rest, ":")
	kind := Kind(0)
	for k, n := range kindNames {
		if n != "" && n == name {
			kind = Kind(k)
		}
	}
	if kind == 0 {
		return Invalidation{}, fmt.Errorf("%w: unknown kind", ErrInvalidPayload)
	}
	if !kind.hasID() {
		if hasID {
			return Invalidation{}, fmt.Errorf("%w: kind %s takes no id", ErrInvalidPayload, kind)
		}
		return Invalidation{Kind: kind}, nil
	}
	if !hasID {
		return Invalidation{}, fmt.Errorf("%w: kind %s needs an id", ErrInvalidPayload, kind)
	}
	parsed, err := uuid.Parse(id)
	if err != nil || parsed.String() != id || parsed == uuid.Nil {
		return Invalidation{}, fmt.Errorf("%w: kind %s has an id that is not a canonical non-nil UUID",
			ErrInvalidPayload, kind)
	}
	return Invalidation{Kind: kind, ID: parsed}, nil
}

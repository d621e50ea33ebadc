package storewrap

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// FuzzParsePayload checks that ParsePayload never panics, returns only its
// two sentinel errors, and accepts exactly the payloads that
// Invalidation.Payload makes: an accepted payload encodes back to itself.
func FuzzParsePayload(f *testing.F) {
	id := uuid.MustParse("0b5f5c1e-7f0e-4c79-9c6b-9d8d4c6b8c11")
	for _, inv := range []Invalidation{
		{Kind: KindAll},
		{Kind: KindProvider, ID: id},
		{Kind: KindModelConfig, ID: id},
		{Kind: KindModelConfigs},
		{Kind: KindUserPrompt, ID: id},
	} {
		f.Add(inv.Payload())
	}
	for _, payload := range []string{
		"",
		"all",
		"v1",
		"v1:",
		"v2:all",
		"V1:all",
		"v1:chats",
		"v1:all:" + id.String(),
		"v1:model_configs:" + id.String(),
		"v1:provider",
		"v1:provider:",
		"v1:provider:" + strings.ToUpper(id.String()),
		"v1:provider:{" + id.String() + "}",
		"v1:provider:urn:uuid:" + id.String(),
		"v1:provider:" + strings.ReplaceAll(id.String(), "-", ""),
		"v1:provider:" + id.String()[:35],
		"v1:user_prompt:" + uuid.Nil.String(),
		"v1:user_prompt:" + id.String() + ":x",
		"v1:user_prompt:" + id.String() + "\n",
		"v1:all\x00",
		"v1:all" + strings.Repeat(" ", 8000),
	} {
		f.Add(payload)
	}

	f.Fuzz(func(t *testing.T, payload string) {
		inv, err := ParsePayload(payload)
		if err != nil {
			if !errors.Is(err, ErrInvalidPayload) && !errors.Is(err, ErrUnknownPayloadVersion) {
				t.Fatalf("ParsePayload(%q) error %v wraps neither sentinel error", payload, err)
			}
			if inv != (Invalidation{}) {
				t.Fatalf("ParsePayload(%q) = %+v with error %v, want the zero Invalidation", payload, inv, err)
			}
			return
		}
		if got := inv.Payload(); got != payload {
			t.Fatalf("ParsePayload(%q) = %+v, which encodes to %q", payload, inv, got)
		}
		if inv.Kind.hasID() == (inv.ID == uuid.Nil) {
			t.Fatalf("ParsePayload(%q) = %+v: the id does not match the kind", payload, inv)
		}
		if len(payload) > maxPayloadLen {
			t.Fatalf("ParsePayload accepted a %d-byte payload, longer than maxPayloadLen %d",
				len(payload), maxPayloadLen)
		}
	})
}

package storewrap

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestPayloadRoundTrip(t *testing.T) {
	id := uuid.MustParse("0b5f5c1e-7f0e-4c79-9c6b-9d8d4c6b8c11")
	tests := []struct {
		inv  Invalidation
		want string
	}{
		{Invalidation{Kind: KindAll}, "v1:all"},
		{Invalidation{Kind: KindProvider, ID: id}, "v1:provider:" + id.String()},
		{Invalidation{Kind: KindModelConfig, ID: id}, "v1:model_config:" + id.String()},
		{Invalidation{Kind: KindModelConfigs}, "v1:model_configs"},
		{Invalidation{Kind: KindUserPrompt, ID: id}, "v1:user_prompt:" + id.String()},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := tt.inv.Payload()
			if got != tt.want {
				t.Fatalf("Payload() = %q, want %q", got, tt.want)
			}
			if len(got) > maxPayloadLen {
				t.Errorf("len(Payload()) = %d, want at most %d", len(got), maxPayloadLen)
			}
			parsed, err := ParsePayload(got)
			if err != nil {
				t.Fatalf("ParsePayload(%q): %v", got, err)
			}
			if parsed != tt.inv {
				t.Errorf("ParsePayload(%q) = %+v, want %+v", got, parsed, tt.inv)
			}
		})
	}
}

func TestPayloadOfIncompleteInvalidationIsAll(t *testing.T) {
	for _, inv := range []Invalidation{
		{},
		{Kind: Kind(200)},
		{Kind: KindProvider},
		{Kind: KindUserPrompt, ID: uuid.Nil},
	} {
		if got := inv.Payload(); got != "v1:all" {
			t.Errorf("%+v.Payload() = %q, want v1:all", inv, got)
		}
	}
}

func TestParsePayloadRejectsMalformed(t *testing.T) {
	id := "0b5f5c1e-7f0e-4c79-9c6b-9d8d4c6b8c11"
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"empty", "", ErrInvalidPayload},
		{"no version", "all", ErrInvalidPayload},
		{"unknown version", "v2:all", ErrUnknownPayloadVersion},
		{"version only", "v1", ErrInvalidPayload},
		{"empty kind", "v1:", ErrInvalidPayload},
		{"unknown kind", "v1:chats", ErrInvalidPayload},
		{"all with id", "v1:all:" + id, ErrInvalidPayload},
		{"missing id", "v1:provider", ErrInvalidPayload},
		{"empty id", "v1:provider:", ErrInvalidPayload},
		{"upper-case id", "v1:provider:" + strings.ToUpper(id), ErrInvalidPayload},
		{"braced id", "v1:provider:{" + id + "}", ErrInvalidPayload},
		{"nil id", "v1:user_prompt:" + uuid.Nil.String(), ErrInvalidPayload},
		{"trailing field", "v1:provider:" + id + ":x", ErrInvalidPayload},
		{"oversized", "v1:all" + strings.Repeat(" ", 8000), ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParsePayload(tt.payload)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePayload(%q) = (%+v, %v), want an error wrapping %v", tt.payload, inv, err, tt.want)
			}
			if msg := err.Error(); strings.Contains(strings.ToLower(msg), id) || len(msg) > 200 {
				t.Errorf("error %q quotes the payload", msg)
			}
		})
	}
}

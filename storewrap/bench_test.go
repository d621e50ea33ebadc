package storewrap

import (
	"testing"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// BenchmarkCachedRead measures a hit of each hot read through the
// decorator, the clone of the returned value included.
func BenchmarkCachedRead(b *testing.B) {
	rec := &recorder{results: map[string][]any{
		"GetEnabledChatProviders":   {[]chatdb.ChatProvider{providerA, providerB}},
		"GetChatModelConfigByID":    {configC},
		"GetDefaultChatModelConfig": {configC},
		"GetUserChatCustomPrompt":   {promptU},
	}}
	q, err := New(rec, Options{})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	defer q.Close()
	ctx := b.Context()
	reads := []struct {
		name string
		read func(id uuid.UUID) error
	}{
		{"GetEnabledChatProviders", func(uuid.UUID) error {
			_, err := q.GetEnabledChatProviders(ctx)
			return err
		}},
		{"GetChatModelConfigByID", func(id uuid.UUID) error {
			_, err := q.GetChatModelConfigByID(ctx, id)
			return err
		}},
		{"GetDefaultChatModelConfig", func(uuid.UUID) error {
			_, err := q.GetDefaultChatModelConfig(ctx)
			return err
		}},
		{"GetUserChatCustomPrompt", func(id uuid.UUID) error {
			_, err := q.GetUserChatCustomPrompt(ctx, id)
			return err
		}},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			if err := r.read(configC.ID); err != nil {
				b.Fatalf("%s: %v", r.name, err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := r.read(configC.ID); err != nil {
						b.Errorf("%s: %v", r.name, err)
						return
					}
				}
			})
		})
	}
}

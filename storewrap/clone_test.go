package storewrap

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hotread/hotread/chatdb"
)

// TestCloneSharesNoMemory fills every field of each cached row type by
// reflection, clones the value with the Clone hook its cache uses, and
// fails when the clone differs or shares a slice, map or pointer with the
// original. A column of a new reference type, such as a second jsonb or an
// array, fails here until the clone copies it.
func TestCloneSharesNoMemory(t *testing.T) {
	tests := []struct {
		name  string
		typ   reflect.Type
		clone func(any) any
	}{
		{"ChatProviderSlice", reflect.TypeFor[[]chatdb.ChatProvider](),
			func(v any) any { return cloneProviders(v.([]chatdb.ChatProvider)) }},
		{"ChatModelConfig", reflect.TypeFor[chatdb.ChatModelConfig](),
			func(v any) any { return cloneModelConfig(v.(chatdb.ChatModelConfig)) }},
		// The user prompt cache has no Clone hook: a copy of the struct
		// must already be independent.
		{"UserChatCustomPrompt", reflect.TypeFor[chatdb.UserChatCustomPrompt](),
			func(v any) any { return v }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			original := fillValue(t, tt.typ, 1)
			clone := reflect.ValueOf(tt.clone(original.Interface()))
			if !reflect.DeepEqual(clone.Interface(), original.Interface()) {
				t.Fatalf("clone = %+v, want %+v", clone.Interface(), original.Interface())
			}
			checkNoSharedMemory(t, tt.name, original, clone)
		})
	}
}

// checkNoSharedMemory walks a and b, which hold equal values of one type,
// and fails where they share a slice's array, a map or a pointer target.
func checkNoSharedMemory(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	if a.Type() == reflect.TypeFor[time.Time]() {
		// A Time's only pointer is its *Location, which is never changed.
		return
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: the clone shares the slice's array", path)
		}
		for i := range a.Len() {
			checkNoSharedMemory(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			checkNoSharedMemory(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	case reflect.Array:
		for i := range a.Len() {
			checkNoSharedMemory(t, path, a.Index(i), b.Index(i))
		}
	case reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		t.Errorf("%s: field of kind %v; make the clone copy it and extend this check", path, a.Kind())
	}
}

func TestCloneKeepsNilAndEmpty(t *testing.T) {
	if got := cloneProviders(nil); got != nil {
		t.Errorf("cloneProviders(nil) = %#v, want nil", got)
	}
	if got := cloneProviders([]chatdb.ChatProvider{}); got == nil || len(got) != 0 {
		t.Errorf("cloneProviders(empty) = %#v, want empty and non-nil", got)
	}
	if got := cloneModelConfig(chatdb.ChatModelConfig{}).Options; got != nil {
		t.Errorf("cloneModelConfig with nil Options: Options = %#v, want nil", got)
	}
	empty := chatdb.ChatModelConfig{Options: json.RawMessage{}}
	if got := cloneModelConfig(empty).Options; got == nil || len(got) != 0 {
		t.Errorf("cloneModelConfig with empty Options: Options = %#v, want empty and non-nil", got)
	}
}

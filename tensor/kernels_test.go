package tensor

import (
	"strings"
	"testing"
)

func TestKernelsEnvOverride(t *testing.T) {
	for _, name := range Kernels() {
		t.Setenv("GOUSHI_KERNELS", name)
		if got := defaultKernels().name; got != name {
			t.Fatalf("GOUSHI_KERNELS=%s chose %s", name, got)
		}
	}
	t.Setenv("GOUSHI_KERNELS", "nonexistent")
	if got := defaultKernels().name; got != Kernels()[0] {
		t.Fatalf("unknown GOUSHI_KERNELS chose %s, want the fastest path %s", got, Kernels()[0])
	}
}

func TestKernelsListEndsWithGeneric(t *testing.T) {
	names := Kernels()
	if names[len(names)-1] != "generic" {
		t.Fatalf("Kernels() = %v, want generic last", names)
	}
}

func TestSetKernelsRejectsUnknown(t *testing.T) {
	err := SetKernels("avx1024")
	if err == nil {
		t.Fatal("SetKernels(avx1024) returned nil")
	}
	if !strings.Contains(err.Error(), "avx1024") || !strings.Contains(err.Error(), "generic") {
		t.Fatalf("error %q should name the value and the supported paths", err)
	}
}

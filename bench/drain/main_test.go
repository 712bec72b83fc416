package main

import (
	"slices"
	"testing"
	"time"
)

func TestPerBucket(t *testing.T) {
	s := time.Second
	got := perBucket([]time.Duration{0, s / 2, s, 3*s + 1}, s)
	if want := []int{2, 1, 0, 1}; !slices.Equal(got, want) {
		t.Fatalf("perBucket = %v, want %v", got, want)
	}
	if perBucket(nil, s) != nil {
		t.Fatal("perBucket of nothing is not nil")
	}
}

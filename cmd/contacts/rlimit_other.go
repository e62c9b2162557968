//go:build !unix

package main

func raiseOpenFiles(uint64) error { return nil }

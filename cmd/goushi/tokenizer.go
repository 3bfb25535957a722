package main

import "errors"

func cmdTokenizer(args []string) error {
	return errors.New("not built yet")
}

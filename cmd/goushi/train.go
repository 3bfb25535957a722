package main

import "errors"

func cmdTrain(args []string) error {
	return errors.New("not built yet")
}

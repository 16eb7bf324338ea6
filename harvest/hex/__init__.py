"""Hex.pm: the signed registry, package tarballs and the crawler that mirrors them."""

"""Helpers the tests share: tracker builders, servers, fakes, browser."""

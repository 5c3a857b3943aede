-- The tracker store's database next to the dossier database (compose only).
CREATE DATABASE tracker;

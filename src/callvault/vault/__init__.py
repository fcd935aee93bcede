"""The vault: envelope encryption, keyrings and blob storage (§6, §8 'stored securely')."""

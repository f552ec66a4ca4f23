"""What a materialisation leaves behind: rows of the ``ici`` tables, versions, UI metadata, summaries and charts."""

"""Shared Streamlit pieces every page uses: layout (sidebar, router), state (``remember``), the dataset
and model pickers, links between pages (``links``), the page list and the Home page. Feature packages
may import it; it imports none.
"""

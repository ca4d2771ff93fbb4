"""The app's core, free of Streamlit: configuration, connections, task tracking, media."""

"""The app's core, free of Streamlit: the store, the task engine, services that queue work, media."""
